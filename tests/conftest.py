"""Shared fixtures: one PostgreSQL cluster per session, a fresh warehouse per test on each engine.

PostgreSQL is a real server: a throwaway cluster from the machine's binaries (started as the
`postgres` user when we are root) or the server named by POSTGRES_* env vars. If neither is
possible the suite fails loudly with instructions; it never skips.

dbt re-parses the whole project whenever the connection settings differ from its last parse in the
target path, or the target does (measured: 191 full parses in one run of the suite before, 20 after,
~75 s less). So a fresh warehouse keeps the same connection settings on
each engine — DuckDB: the same path `<session tmp>/duckdb/cdm.duckdb`, a symlink moved to the test's
own directory; PostgreSQL: the same database name, dropped and created again — and each engine has
its own dbt target path in the session's tmp dir. Only one warehouse per engine is current at a time,
as before: the target name reaches the newest.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from dbt_project import pgcluster
from dbt_project.generator import generate
from dbt_project.warehouse import Warehouse

ENGINES = ("duckdb", "postgres")
_db_counter = itertools.count()
# The Snowflake emulator's connection settings (tests that also run on it, e.g. test_ingest.py, add
# "snowflake" to their engines; fakesnow itself replaces the connector's connect in this process)
SNOWFLAKE_ENV = {"SNOWFLAKE_ACCOUNT": "emulator", "SNOWFLAKE_USER": "cdm", "SNOWFLAKE_PASSWORD": "emulator",
                 "SNOWFLAKE_DATABASE": "CDM"}


@pytest.fixture(scope="session", autouse=True)
def _session_outputs(tmp_path_factory):
    """What the code under test writes by default into the checkout goes to this session's tmp dir
    instead (sessions running side by side, e.g. pytest-xdist's workers, never share a file): GX's
    file context, run evidence, dbt's logs and its default target path."""
    base = tmp_path_factory.getbasetemp()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DQ_GX_DIR", str(private_gx_context(base / "ge")))
        mp.setenv("DQ_EVIDENCE_DIR", str(base / "evidence"))
        mp.setenv("DBT_LOG_PATH", str(base / "dbt-logs"))
        mp.setenv("DBT_TARGET_PATH", str(base / "dbt-target"))
        yield


def private_gx_context(directory: Path) -> Path:
    """`directory` made a fresh GX file context (the repo's ge/gx/great_expectations.yml, nothing else) for
    DQ_GX_DIR; returns it."""
    import shutil

    from dbt_project.project import root

    (directory / "gx").mkdir(parents=True)
    shutil.copyfile(root() / "ge" / "gx" / "great_expectations.yml", directory / "gx" / "great_expectations.yml")
    return directory


@pytest.fixture(scope="session")
def pg_cluster():
    try:
        cluster = pgcluster.start()
    except pgcluster.PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL is required by the test suite and could not be started: {exc}", pytrace=False)
    yield cluster
    cluster.stop()


@pytest.fixture
def target_env(request, tmp_path, monkeypatch):
    """Point the `dev`, `postgres` or `snowflake` target at a fresh, empty warehouse; returns the target name."""

    def make(engine: str) -> str:
        use_dbt_target_path(request, monkeypatch, engine)
        if engine == "duckdb":
            return _point_duckdb_at(request, monkeypatch, tmp_path / f"wh{next(_db_counter)}")
        if engine == "snowflake":
            return _snowflake_emulator(request, monkeypatch, tmp_path / f"sf{next(_db_counter)}")
        return _fresh_pg_database(request, monkeypatch, PG_TEST_DB)

    return make


PG_TEST_DB = f"cdm_test_{os.getpid()}"  # every test's fresh PostgreSQL warehouse has this name (see above)


def use_dbt_target_path(request, mp, engine: str) -> None:
    """The engine's own dbt target path for this session (its partial parse survives the other engines' runs)."""
    base = request.getfixturevalue("tmp_path_factory").getbasetemp()
    mp.setenv("DBT_TARGET_PATH", str(base / f"dbt-target-{engine}"))


def _point_duckdb_at(request, mp, directory: Path) -> str:
    """Make `directory` (created if missing) the home of the `dev` target's warehouse, reached through
    the session's one DuckDB path: `<session tmp>/duckdb` is a symlink moved to `directory`. Returns "dev"."""
    directory.mkdir(parents=True, exist_ok=True)
    link = request.getfixturevalue("tmp_path_factory").getbasetemp() / "duckdb"
    staged = link.with_name(f"duckdb.{next(_db_counter)}")
    staged.symlink_to(directory, target_is_directory=True)
    os.replace(staged, link)  # atomic: the path never dangles
    mp.setenv("DQ_DUCKDB_PATH", str(link / "cdm.duckdb"))
    return "dev"


def _snowflake_emulator(request, mp, db_dir: Path) -> str:
    """The Snowflake emulator (fakesnow, in-process) on fresh database files in `db_dir`, until the test
    ends; points the `snowflake` target at it and returns the target name. Fails, never skips, when
    fakesnow cannot start."""
    import fakesnow

    for k, v in SNOWFLAKE_ENV.items():
        mp.setenv(k, v)
    for k in ("SNOWFLAKE_HOST", "SNOWFLAKE_PORT", "SNOWFLAKE_PROTOCOL"):
        mp.delenv(k, raising=False)
    db_dir.mkdir()
    patched = fakesnow.patch(db_path=str(db_dir))
    patched.__enter__()
    request.addfinalizer(lambda: patched.__exit__(None, None, None))
    return "snowflake"


def _fresh_pg_database(request, mp, name: str, template: str | None = None) -> str:
    """(Re)create database `name` on the session's cluster (a copy of `template` when given) and point the
    `postgres` target at it through `mp`; returns the target name."""
    cluster = request.getfixturevalue("pg_cluster")
    pgcluster.recreate_database(cluster.env, name, template=template)
    for k, v in cluster.env.items():
        mp.setenv(k, v)
    mp.setenv("POSTGRES_DB", name)
    return "postgres"


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture
def target(engine, target_env) -> str:
    """A fresh warehouse on the parametrised engine; the dbt target name that reaches it."""
    return target_env(engine)


@pytest.fixture
def warehouse(target):
    with Warehouse(target) as wh:
        yield wh


@pytest.fixture(scope="session")
def clean_extract(tmp_path_factory) -> Path:
    """A small clean extract (400 customers x 3 days), generated once per session."""
    out = tmp_path_factory.mktemp("extract")
    generate(out, customers=400, days=3, seed=11)
    return out


@pytest.fixture(scope="session")
def extract_factory(tmp_path_factory):
    """Generate (and cache) a small extract with the given injections."""
    cache: dict[tuple, Path] = {}

    def make(*inject: str, customers: int = 300, days: int = 2, seed: int = 5) -> Path:
        key = (inject, customers, days, seed)
        if key not in cache:
            out = tmp_path_factory.mktemp("inj")
            generate(out, customers=customers, days=days, seed=seed, inject=inject)
            cache[key] = out
        return cache[key]

    return make


# --- a built warehouse, once per engine per session ------------------------------------------------

BUILT_DATES = ("2026-01-01", "2026-01-02", "2026-01-03")  # the dates of `clean_extract`


@pytest.fixture(scope="session")
def built_templates(tmp_path_factory, clean_extract):
    """Build the whole project once per engine (clean_extract landed, every layer built by one
    `dq build` over its dates); returns {engine: template}. Tests get copies via `built_target`."""
    import datetime as dt

    from dbt_project.build import build
    from dbt_project.ldz import ingest

    cache: dict[str, object] = {}

    def get(engine: str, request) -> object:
        if engine in cache:
            return cache[engine]
        with pytest.MonkeyPatch.context() as mp:
            use_dbt_target_path(request, mp, engine)
            if engine == "duckdb":  # its own path, not the session's symlink (a test may be using that)
                template = tmp_path_factory.mktemp("built") / "template.duckdb"
                mp.setenv("DQ_DUCKDB_PATH", str(template))
                target = "dev"
            else:
                template = f"cdm_built_{os.getpid()}"
                target = _fresh_pg_database(request, mp, template)
            dates = [dt.date.fromisoformat(d) for d in BUILT_DATES]
            with Warehouse(target) as wh:
                for day in dates:
                    res = ingest(wh, clean_extract, day)
                    assert res.reason_code is None and not res.failed, res.as_dict()
            outcome = build(target, dates[0], dates[-1])
            assert outcome.success, [(n["name"], n["message"]) for n in outcome.failed_nodes] or outcome.error
        cache[engine] = template
        return template

    return get


@pytest.fixture
def built_target(request, engine, built_templates, tmp_path, monkeypatch) -> str:
    """A private copy of the session's built warehouse on the parametrised engine (corrupt it freely);
    returns the dbt target name that reaches it."""
    template = built_templates(engine, request)
    use_dbt_target_path(request, monkeypatch, engine)
    if engine == "duckdb":
        import shutil

        directory = tmp_path / f"built{next(_db_counter)}"
        directory.mkdir()
        shutil.copyfile(template, directory / "cdm.duckdb")
        return _point_duckdb_at(request, monkeypatch, directory)
    return _fresh_pg_database(request, monkeypatch, PG_TEST_DB, template)
