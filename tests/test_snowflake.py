"""The Snowflake target on its emulator (fakesnow, in-process): the same dbt project builds every layer
on dbt-snowflake and gives the vault and the 360 numbers the DuckDB build gives for the same LDZ rows.

The LDZ is not written by `dq ingest` here (it talks to DuckDB and PostgreSQL only): the test copies the
landed rows of a DuckDB warehouse into the emulator, then runs `dbt seed` and `dbt build` with
`--target snowflake`. dbt unit tests are excluded on the emulator (fakesnow cannot create the temporary
tables dbt-snowflake's unit-test fixtures need); they run on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import pytest

from dbt_project import dbt
from dbt_project.warehouse import Warehouse

SNOWFLAKE_ENV = {"SNOWFLAKE_ACCOUNT": "emulator", "SNOWFLAKE_USER": "cdm", "SNOWFLAKE_PASSWORD": "emulator",
                 "SNOWFLAKE_DATABASE": "CDM"}
COPIED = ("ldz", "meta.load_window", "cdm_ingest.ml_customer_scores", "cdm_ingest.ml_model_runs")
LAYERS = ("staging", "rdv", "ifl", "c360", "cdm_publish")


def _copy_landing_zone(source: Warehouse, cur) -> int:
    """Create and fill the LDZ tables, the load window and the ML write-back source in the emulator."""
    tables = [("ldz", t) for (t,) in source.query(
        "select table_name from information_schema.tables where table_schema = 'ldz' order by 1")]
    tables += [tuple(t.split(".")) for t in COPIED[1:]]
    copied = 0
    for schema, table in tables:
        cols = source.query("select column_name, data_type from information_schema.columns "
                            f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position")
        cur.execute(f"create schema if not exists CDM.{schema}")
        cur.execute(f"create table CDM.{schema}.{table} ({', '.join(f'{c} {t}' for c, t in cols)})")
        rows = source.query(f"select * from {schema}.{table}")
        if rows:
            cur.executemany(f"insert into CDM.{schema}.{table} values ({', '.join(['%s'] * len(cols))})", rows)
        copied += len(rows)
    return copied


def _facts(query) -> dict[str, object]:
    """What must agree between engines: every vault table's rows, the customer hash keys, the 360 totals."""
    out: dict[str, object] = {}
    for (t,) in query("select table_name from information_schema.tables where lower(table_schema) = 'rdv'"):
        out[f"rdv.{t.lower()}"] = query(f"select count(*) from rdv.{t}")[0][0]
    out["customer_hk"] = sorted(r[0] for r in query("select customer_hk from rdv.h_customer"))
    out["customer_360"] = tuple(int(v) for v in query(
        "select count(*), sum(contacts_total), sum(contacts_30d), sum(responses_total), "
        "cast(sum(revenue_total) * 100 as bigint) from c360.customer_360")[0])
    out["campaign_360"] = tuple(int(v) for v in query(
        "select count(*), sum(contacts), sum(unique_customers_contacted), sum(responses), sum(control_contacts), "
        "cast(sum(revenue) * 100 as bigint) from cdm_publish.campaign_360_v1")[0])
    out["flowchart_360"] = tuple(int(v) for v in query(
        "select count(*), sum(execution_count), sum(failed_runs), sum(contacts) from cdm_publish.flowchart_360_v1")[0])
    return out


@pytest.mark.parametrize("engine", ["duckdb"])
def test_every_layer_builds_on_the_snowflake_emulator_and_matches_duckdb(built_target, tmp_path, monkeypatch):
    import fakesnow

    with Warehouse(built_target) as wh:
        expected = _facts(wh.query)
        source_rows = None
        for k, v in SNOWFLAKE_ENV.items():
            monkeypatch.setenv(k, v)
        db = tmp_path / "snowflake"
        db.mkdir()
        with fakesnow.patch(db_path=str(db)):
            import snowflake.connector

            con = snowflake.connector.connect(database="CDM", schema="PUBLIC")
            source_rows = _copy_landing_zone(wh, con.cursor())
            con.close()
    assert source_rows and source_rows > 1000
    with fakesnow.patch(db_path=str(db)):
        import snowflake.connector

        seeded = dbt.run(dbt.build_argv("seed", target="snowflake", extra=["--quiet"]))
        assert seeded.success, seeded.error
        argv = dbt.build_argv("build", target="snowflake", select=LAYERS, exclude=["test_type:unit"], extra=["--quiet"])
        first = dbt.run(argv)
        assert first.success, [(n["name"], n["message"]) for n in first.failed_nodes] or first.error
        assert any(n["resource_type"] == "test" for n in first.nodes)
        con = snowflake.connector.connect(database="CDM", schema="PUBLIC")

        def query(sql):
            cur = con.cursor()
            cur.execute(sql)
            return cur.fetchall()

        assert _facts(query) == expected
        again = dbt.run(argv)  # a rerun of the same window: insert-only vault, nothing added
        assert again.success, [(n["name"], n["message"]) for n in again.failed_nodes] or again.error
        assert _facts(query) == expected
        con.close()
