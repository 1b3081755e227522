"""The ML write-back loop on DuckDB and PostgreSQL: score from cdm_publish, write cdm_ingest, ingest into
the vault with validation. Real scikit-learn, real dbt, real databases (the session's built warehouse)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import yaml
from click.testing import CliRunner

from dbt_project import ml
from dbt_project.build import build
from dbt_project.cli import main
from dbt_project.project import root
from dbt_project.reason_codes import ReasonCode
from dbt_project.warehouse import Warehouse

D = dt.date(2026, 1, 3)  # the last date of the built warehouse (conftest.BUILT_DATES)
GHOST = "0" * 32
LR, GBM = "response_propensity", "response_propensity_gbm"


def _query(target: str, sql: str, args: list | None = None) -> list[tuple]:
    with Warehouse(target) as wh:
        return wh.query(sql.replace("?", wh.param), args)


def _customers(target: str) -> list[str]:
    return [r[0] for r in _query(target, "select customer_id from cdm_publish.customer_360_v1 order by 1")]


# --- pure parts -------------------------------------------------------------------------------------

def test_models_are_the_dbt_var_ml_models():
    project = yaml.safe_load((root() / "dbt_project.yml").read_text())
    assert list(ml.MODEL_NAMES) == project["vars"]["ml_models"]


def test_deciles_rank_highest_scores_first_and_use_every_decile():
    scores = [i / 25 for i in range(25)]
    ids = [f"C{i:03d}" for i in range(25)]
    dec = ml.deciles(scores, ids)
    assert dec[-1] == 1 and dec[0] == 10
    assert sorted(set(dec)) == list(range(1, 11))
    assert all(dec[i] >= dec[i + 1] for i in range(24))  # higher score, never a worse decile
    tied = ml.deciles([0.5] * 20, [f"C{i:03d}" for i in range(20)])
    assert tied == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10]  # ties: by customer_id


def test_model_version_names_model_date_and_spec():
    v = ml.model_version(LR, D)
    assert v.startswith(f"{LR}-20260103-") and len(v.rsplit("-", 1)[1]) == 8
    assert v != ml.model_version(GBM, D).replace(GBM, LR)  # another spec, another fingerprint


# --- scoring ----------------------------------------------------------------------------------------

def test_score_writes_every_customer_per_model_and_a_rerun_replaces(built_target):
    customers = _customers(built_target)
    assert len(customers) == 400
    first = ml.score(built_target, D)
    assert [r.model_name for r in first.runs] == [LR, GBM]
    for run in first.runs:
        assert 0.0 <= run.auc <= 1.0
        assert run.scored_rows == run.train_rows + run.holdout_rows == len(customers)
        assert run.model_version.startswith(f"{run.model_name}-20260103-")
        assert sorted(run.deciles) == list(range(1, 11))

    def snapshot():
        return _query(built_target, "select model_name, customer_id, model_version, score, decile, scored_at, "
                                    "business_date from cdm_ingest.ml_customer_scores order by 1, 2")

    rows = snapshot()
    assert len(rows) == 2 * len(customers)
    for model in (LR, GBM):
        mine = [r for r in rows if r[0] == model]
        assert [r[1] for r in mine] == customers  # one row per customer
        assert all(0.0 <= r[3] <= 1.0 for r in mine)
        assert {r[4] for r in mine} == set(range(1, 11))
        assert {r[6] for r in mine} == {D}
    runs = _query(built_target, "select model_name, model_version, business_date, auc, train_rows, holdout_rows, "
                                "scored_rows from cdm_ingest.ml_model_runs order by 1")
    assert runs == [(r.model_name, r.model_version, D, pytest.approx(r.auc), r.train_rows, r.holdout_rows,
                     r.scored_rows) for r in first.runs]

    later = dt.datetime(2026, 1, 4, 6, 30)
    second = ml.score(built_target, D, scored_at=later)
    again = snapshot()
    assert len(again) == len(rows)  # replaced, never duplicated
    assert {r[5] for r in again} == {later}
    assert [r[:5] for r in again] == [r[:5] for r in rows]  # deterministic: same scores, deciles, versions
    assert [r.auc for r in second.runs] == [r.auc for r in first.runs]
    assert _query(built_target, "select count(*) from cdm_ingest.ml_model_runs") == [(2,)]

    latest = later + dt.timedelta(hours=1)
    ml.score(built_target, D, models=[GBM], scored_at=latest)  # replaces that model's slice only
    assert _query(built_target, "select model_name, count(*), max(scored_at) from cdm_ingest.ml_customer_scores "
                                "group by 1 order by 1") == [(LR, 400, later), (GBM, 400, latest)]


def test_cli_scores_with_json_and_refuses_a_date_not_published(built_target):
    runner = CliRunner()
    res = runner.invoke(main, ["ml", "score", "--date", "2026-01-04", "--target", built_target])
    assert res.exit_code == 2, res.output
    assert "2026-01-04 has not been landed: `dq run --date 2026-01-04`" in res.output, res.output  # not a build
    res = runner.invoke(main, ["ml", "score", "--date", "2026-01-02", "--target", built_target])  # published: 01-03
    assert res.exit_code == 2 and "a past date cannot be scored" in res.output, res.output
    assert _query(built_target, "select count(*) from cdm_ingest.ml_customer_scores") == [(0,)]

    res = runner.invoke(main, ["ml", "score", "--date", "2026-01-03", "--model", "nope", "--target", built_target])
    assert res.exit_code == 2 and "unknown model(s) nope" in res.output

    res = runner.invoke(main, ["ml", "score", "--date", "2026-01-03", "--model", LR, "--json",
                               "--target", built_target])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["features_from"] == "cdm_publish.customer_360_v1"
    assert [r["model_name"] for r in doc["runs"]] == [LR] and 0 <= doc["runs"][0]["auc"] <= 1
    assert _query(built_target, "select model_name, count(*) from cdm_ingest.ml_customer_scores group by 1") == [
        (LR, 400)]


# --- the vault ingests the write-back ---------------------------------------------------------------

def test_bad_write_back_rows_are_quarantined_and_good_rows_reach_the_satellite(built_target):
    sat = "rdv.s_customer_ml_score"
    # The whole project was built before any model scored: the satellite holds its ghost record only.
    assert _query(built_target, f"select customer_hk, model_name, load_id from {sat}") == [(GHOST, None, "GHOST")]

    ml.score(built_target, D, scored_at=dt.datetime(2026, 1, 3, 6, 0))
    c = _customers(built_target)
    bad_score_hi, bad_score_lo, no_version, stale, dup, both = c[:6]
    table = "cdm_ingest.ml_customer_scores"
    with Warehouse(built_target) as wh:
        p = wh.param
        one = f"customer_id = {p} and model_name = '{LR}'"
        wh.execute(f"update {table} set score = 1.5 where {one}", [bad_score_hi])
        wh.execute(f"update {table} set score = -0.1 where {one}", [bad_score_lo])
        wh.execute(f"update {table} set model_version = null where {one}", [no_version])
        wh.execute(f"update {table} set scored_at = {p} where {one}", [dt.datetime(2025, 12, 26), stale])
        wh.execute(f"insert into {table} select * from {table} where {one}", [dup])
        wh.execute(f"insert into {table} select 'C9999999', model_name, model_version, score, decile, scored_at, "
                   f"business_date from {table} where {one}", [both])
        total = wh.scalar(f"select count(*) from {table}")
    assert total == 2 * len(c) + 2

    outcome = build(built_target, D, D, select=["tag:ml"])
    assert outcome.success, [(n["name"], n["message"]) for n in outcome.failed_nodes] or outcome.error
    warned = {(n["reason_code"], n["failures"]) for n in outcome.warned_nodes
              if n["name"].startswith("value_absent_stg_ml__customer_scores")}  # what dq build lists
    assert warned == {(ReasonCode.ML_SCORE_INVALID.value, 6), (ReasonCode.STALE_SOURCE.value, 1)}

    rejects = _query(built_target, "select customer_id, model_name, reason_code, reason_detail "
                                   "from cdm_ingest.ml_score_rejects order by 1, 4")
    invalid = ReasonCode.ML_SCORE_INVALID.value
    assert sorted(rejects) == sorted([
        (bad_score_hi, LR, invalid, "score NULL or outside [0, 1]"),
        (bad_score_lo, LR, invalid, "score NULL or outside [0, 1]"),
        (no_version, LR, invalid, "missing model_version"),
        (stale, LR, ReasonCode.STALE_SOURCE.value, "scored_at more than 7 days before the business date"),
        (dup, LR, invalid, "duplicate (customer, model, business date): every copy rejected"),
        (dup, LR, invalid, "duplicate (customer, model, business date): every copy rejected"),
        ("C9999999", LR, invalid, "unknown customer (not in rdv.h_customer)"),
    ])

    def sat_rows():
        return _query(built_target, f"select h.customer_id, s.model_name, s.hashdiff, s.score, s.decile, s.load_id "
                                    f"from {sat} as s join rdv.h_customer as h on h.customer_hk = s.customer_hk "
                                    "where s.load_dts = ? order by 1, 2", [dt.datetime(2026, 1, 3)])

    rows = sat_rows()
    bad = {bad_score_hi, bad_score_lo, no_version, stale, dup}
    assert {r[0] for r in rows if r[1] == LR} == set(c) - bad
    assert {r[0] for r in rows if r[1] == GBM} == set(c)  # the other model of the same customers is untouched
    assert len(rows) + len(rejects) == total  # nothing dropped silently
    side_by_side = [r for r in rows if r[0] == both]
    assert [r[1] for r in side_by_side] == [LR, GBM] and side_by_side[0][2] != side_by_side[1][2]
    assert all(r[5].startswith(r[1] + "-20260103-") for r in rows)  # load_id: the model_version

    rerun = build(built_target, D, D, select=["tag:ml"])  # rebuilding the date adds nothing anywhere
    assert rerun.success
    assert sat_rows() == rows
    assert _query(built_target, "select count(*) from cdm_ingest.ml_score_rejects") == [(len(rejects),)]
