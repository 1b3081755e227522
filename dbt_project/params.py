"""Options shared by several `dq` commands, defined once, and the console their output goes through."""

from __future__ import annotations

import datetime as dt

import click
from rich.console import Console, ConsoleDimensions

from .project import TARGETS

WIDE = 200  # columns of output that is not a terminal


class Output(Console):
    """rich's Console for `dq`'s output. Output that is not a terminal (a log file, a pipe, Airflow's task log)
    gets lines of up to WIDE columns instead of rich's fallback of 80, at which a run's table folds into columns
    two characters wide; each row stays on one line, for grep. COLUMNS, when set, still decides (read when
    printing: rich reads it once, when the console is made)."""

    @property
    def size(self) -> ConsoleDimensions:
        dims = super().size
        if self.is_terminal:
            return dims
        columns = self._environ.get("COLUMNS", "")
        return ConsoleDimensions(int(columns) if columns.isdigit() else WIDE, dims.height)


class _Date(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date (YYYY-MM-DD)", param, ctx)


DATE = _Date()

target = click.option(
    "--target", "-t", type=click.Choice(TARGETS), default=None, envvar="DQ_TARGET", show_envvar=True,
    help="dbt target (profiles.yml) to work on. Default: dev (the embedded DuckDB file).")
json_output = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document for machines instead of tables.")
source = click.option(
    "--source", type=click.Path(file_okay=False, path_type=str), default=None, envvar="DQ_SOURCE",
    show_envvar=True,
    help="Root of the landed extract: one <YYYY-MM-DD>/ folder per business date. Default: data/extract "
         "under the repo root (where `dq demo` generates).")
business_date = click.option(
    "--date", "business_date", type=DATE, required=True, help="Business date to work on.")


def _engines(ctx, param, value: str) -> tuple[str, ...]:
    from .bench import ENGINES

    engines = tuple(e.strip() for e in value.split(",") if e.strip())
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise click.BadParameter(f"choose from {', '.join(ENGINES)} (comma-separated), not {value!r}")
    return engines


bench_customers = click.option(
    "--customers", type=click.IntRange(1), default=1_000_000, show_default=True,
    help="Customers in the generated extract (generated once, cached under data/bench/).")
bench_engines = click.option(
    "--engines", default="duckdb,postgres", show_default=True, callback=_engines,
    help="Comma-separated engines to measure.")
bench_record = click.option(
    "--record", is_flag=True, help="Write the results into docs/benchmarks.md (replacing the section).")
