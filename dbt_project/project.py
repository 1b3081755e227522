"""Where the project lives and how its dbt profile is read (profiles.yml at the repo root)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import yaml

TARGETS = ("dev", "postgres", "snowflake", "sqlserver", "oracle")
PROFILE_NAME = "cdm"


class ConfigError(RuntimeError):
    """Configuration problem (exit code 2)."""


@cache
def root() -> Path:
    """The repo root: $DQ_PROJECT_DIR, else the folder above this package (editable install)."""
    env = os.environ.get("DQ_PROJECT_DIR")
    path = Path(env) if env else Path(__file__).resolve().parents[1]
    if not (path / "dbt_project.yml").exists():
        raise ConfigError(f"no dbt_project.yml in {path}; set DQ_PROJECT_DIR to the repo root")
    return path


def default_target() -> str:
    return os.environ.get("DQ_TARGET", "dev")


def duckdb_path() -> Path:
    """The DuckDB warehouse file, absolute (dbt and dq must agree on it whatever the cwd)."""
    p = Path(os.environ.get("DQ_DUCKDB_PATH", "warehouse/cdm.duckdb"))
    return p if p.is_absolute() else root() / p


def export_env_for_dbt() -> None:
    """Make relative settings absolute before dbt reads profiles.yml in this process or a child."""
    os.environ["DQ_DUCKDB_PATH"] = str(duckdb_path())
    duckdb_path().parent.mkdir(parents=True, exist_ok=True)


def _render(value: object) -> object:
    """Render the `env_var('X', 'default')` templates profiles.yml uses, as dbt would."""
    if isinstance(value, dict):
        return {k: _render(v) for k, v in value.items()}
    if not isinstance(value, str) or "{{" not in value:
        return value
    from jinja2 import Environment, StrictUndefined

    def env_var(name: str, default: str | None = None) -> str:
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise ConfigError(f"profiles.yml needs environment variable {name}")
        return default

    env = Environment(undefined=StrictUndefined)
    env.filters["as_number"] = lambda v: v
    return env.from_string(value).render(env_var=env_var)


def profile(target: str | None = None) -> dict:
    """The rendered profile output for a target (connection settings)."""
    target = target or default_target()
    data = yaml.safe_load((root() / "profiles.yml").read_text())
    outputs = data[PROFILE_NAME]["outputs"]
    if target not in outputs:
        raise ConfigError(f"unknown target {target!r}; profiles.yml defines {', '.join(outputs)}")
    out = _render(outputs[target])
    if out.get("type") == "duckdb":
        out["path"] = str(duckdb_path())
    return out
