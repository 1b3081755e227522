"""The ML write-back loop: train propensity-to-respond models on published data, score every customer,
write the scores back to cdm_ingest (which the vault then ingests and validates like any source).

`score(target, business_date)` reads the consumer table `cdm_publish.customer_360_v1` (one row per
customer as of the last built business date), trains each model on a stratified split, measures the AUC
on the holdout, scores every customer with that same fitted model and replaces the
(model_name, business_date) slice of `cdm_ingest.ml_customer_scores` and `cdm_ingest.ml_model_runs` in
ONE transaction, so a rerun replaces, never duplicates.

Label: the customer responded in the 30 days up to the business date (responses_30d > 0). No column
derived from responses (responses_*, response_rate, revenue_*, last_response_*) is a feature: with a
short history every one of them restates the label. Deterministic: fixed random_state everywhere, rows
ordered by customer_id, so the same published data gives the same scores and model_version.

scikit-learn is imported lazily: importing this module (as the CLI does) costs nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from .project import ConfigError
from .reason_codes import ReasonCode
from .warehouse import Warehouse

FEATURES_SCHEMA, FEATURES_TABLE = "cdm_publish", "customer_360_v1"
SCORES = "cdm_ingest.ml_customer_scores"
RUNS = "cdm_ingest.ml_model_runs"

NUMERIC = ("age_years", "tenure_days", "contacts_total", "contacts_30d", "contacts_90d",
           "days_since_first_contact", "days_since_last_contact")
CATEGORICAL = ("segment", "region", "gender", "preferred_channel")
LABEL = "responses_30d"  # label: responses_30d > 0 (never a feature, nor anything derived from responses)
NEVER_CONTACTED_DAYS = 9999  # days_since_*_contact of a customer never contacted
RANDOM_STATE = 42
HOLDOUT_SHARE = 0.3
MIN_CLASS_ROWS = 5  # fewer positives (or negatives) than this: no honest split, no honest AUC

# The models scored side by side. Names must equal the dbt var `ml_models` (a test checks it).
MODELS: dict[str, dict] = {
    "response_propensity": {
        "estimator": "LogisticRegression",
        "params": {"C": 1.0, "max_iter": 1000, "random_state": RANDOM_STATE},
    },
    "response_propensity_gbm": {
        "estimator": "GradientBoostingClassifier",
        "params": {"n_estimators": 150, "max_depth": 2, "learning_rate": 0.05, "subsample": 0.8,
                   "random_state": RANDOM_STATE},
    },
}
MODEL_NAMES = tuple(MODELS)

_TYPES = {
    "duckdb": {"text": "VARCHAR", "float": "DOUBLE", "int": "INTEGER", "date": "DATE", "ts": "TIMESTAMP"},
    "postgres": {"text": "TEXT", "float": "DOUBLE PRECISION", "int": "INTEGER", "date": "DATE",
                 "ts": "TIMESTAMP"},
    "snowflake": {"text": "VARCHAR", "float": "FLOAT", "int": "INTEGER", "date": "DATE", "ts": "TIMESTAMP_NTZ"},
}
SCORE_COLUMNS = ("customer_id", "model_name", "model_version", "score", "decile", "scored_at", "business_date")
RUN_COLUMNS = ("model_name", "model_version", "business_date", "auc", "train_rows", "holdout_rows",
               "scored_rows", "positives", "features", "trained_at")


class MlUsageError(ConfigError):
    """The scoring job cannot start as asked (exit code 2): published data not built through the date,
    an unknown model name."""


class MlDataError(RuntimeError):
    """The published data cannot train an honest model (exit code 1), e.g. too few responders."""

    reason = ReasonCode.ZERO_ROWS


@dataclass
class ModelRun:
    model_name: str
    model_version: str
    auc: float
    train_rows: int
    holdout_rows: int
    scored_rows: int
    positives: int
    deciles: dict[int, int] = field(default_factory=dict)  # decile -> customers


@dataclass
class ScoreResult:
    business_date: dt.date
    scored_at: dt.datetime
    features_from: str
    runs: list[ModelRun]

    def as_dict(self) -> dict:
        return {"business_date": self.business_date.isoformat(), "scored_at": self.scored_at.isoformat(sep=" "),
                "features_from": self.features_from, "runs": [asdict(r) for r in self.runs]}


# --- tables -----------------------------------------------------------------------------------------

def ensure_ml_schema(wh: Warehouse) -> None:
    """Create cdm_ingest and its write-back tables (idempotent). `dq build` calls it before dbt runs:
    the staging model reads ml_customer_scores as a dbt source even when no model ever scored.
    No NOT NULL constraints on purpose: this is a landing table other writers may fill too; the vault
    validates every row (stg_ml__customer_scores) and quarantines the bad ones with a reason."""
    t = _TYPES[wh.engine]
    wh.execute("CREATE SCHEMA IF NOT EXISTS cdm_ingest")
    wh.execute(f"""CREATE TABLE IF NOT EXISTS {SCORES} (
        customer_id {t['text']}, model_name {t['text']}, model_version {t['text']}, score {t['float']},
        decile {t['int']}, scored_at {t['ts']}, business_date {t['date']})""")
    wh.execute(f"""CREATE TABLE IF NOT EXISTS {RUNS} (
        model_name {t['text']} NOT NULL, model_version {t['text']} NOT NULL, business_date {t['date']} NOT NULL,
        auc {t['float']}, train_rows {t['int']}, holdout_rows {t['int']}, scored_rows {t['int']},
        positives {t['int']}, features {t['text']}, trained_at {t['ts']} NOT NULL)""")
    if wh.engine == "postgres":
        wh.execute(f"CREATE INDEX IF NOT EXISTS ml_customer_scores__business_date__model_name "
                   f"ON {SCORES} (business_date, model_name)")


# --- features ---------------------------------------------------------------------------------------

@dataclass
class Features:
    customer_ids: list[str]
    X: object  # numpy object array: NUMERIC columns (float or None), then CATEGORICAL (str)
    y: object  # numpy int array: 1 = responded in the last 30 days


def check_features_date(wh: Warehouse, business_date: dt.date) -> None:
    """Refuse (MlUsageError) unless the published customer rows are as of `business_date`: scores are made
    for the date Customer 360 is built as of, which never moves back (load_window.py)."""
    from .ldz import is_landed

    relation = f"{FEATURES_SCHEMA}.{FEATURES_TABLE}"
    hint = f"build through {business_date} first: dq build --from <first date> --to {business_date}"
    if not is_landed(wh, business_date):  # building through it would publish it with no data of its own
        hint = (f"{business_date} has not been landed: `dq run --date {business_date}` lands, builds and scores it "
                "(never `dq build` through a date that was not landed)")
    if not wh.table_exists(FEATURES_SCHEMA, FEATURES_TABLE):
        raise MlUsageError(f"{relation} does not exist; {hint}")
    dates = wh.query(f"select distinct as_of_date from {relation}")
    as_of = sorted(_as_date(d[0]) for d in dates if d[0] is not None)
    if as_of != [business_date]:
        shown = ", ".join(str(d) for d in as_of) or "no rows"
        if as_of and as_of[-1] > business_date:
            hint = (f"a past date cannot be scored: the published tables never move back, and scores are made "
                    f"for the date they are as of. Score {as_of[-1]} (dq ml score --date {as_of[-1]})")
        raise MlUsageError(f"{relation} is as of {shown}, not {business_date}; {hint}")


def read_features(wh: Warehouse, business_date: dt.date) -> Features:
    """The published customer rows as of `business_date` (refuses any other as_of_date)."""
    import numpy as np

    relation = f"{FEATURES_SCHEMA}.{FEATURES_TABLE}"
    check_features_date(wh, business_date)
    rows = wh.query(
        "select customer_id, age_years, tenure_days, contacts_total, contacts_30d, contacts_90d, "
        f"first_contact_at, last_contact_at, {', '.join(CATEGORICAL)}, {LABEL} "
        f"from {relation} order by customer_id")
    ids, X, y = [], [], []
    for r in rows:
        (cid, age, tenure, c_tot, c_30, c_90, first_at, last_at), cats, label = r[:8], r[8:-1], r[-1]
        ids.append(cid)
        X.append([_num(age), _num(tenure), _num(c_tot), _num(c_30), _num(c_90),
                  _days_since(business_date, first_at), _days_since(business_date, last_at),
                  *[("UNKNOWN" if c is None else str(c)) for c in cats]])
        y.append(1 if (label or 0) > 0 else 0)
    return Features(ids, np.array(X, dtype=object).reshape(len(ids), len(NUMERIC) + len(CATEGORICAL)),
                    np.array(y, dtype=int))


def _as_date(v) -> dt.date:
    return v.date() if isinstance(v, dt.datetime) else v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


def _num(v) -> float:
    return float("nan") if v is None else float(v)


def _days_since(day: dt.date, ts) -> float:
    return float(NEVER_CONTACTED_DAYS) if ts is None else float((day - _as_date(ts)).days)


# --- models -----------------------------------------------------------------------------------------

def _as_float(x):
    return x.astype(float)


def build_estimator(name: str):
    """A fresh, unfitted pipeline for a model name: imputation, scaling, one-hot encoding, classifier."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    spec = MODELS[name]
    classifier = {"LogisticRegression": LogisticRegression,
                  "GradientBoostingClassifier": GradientBoostingClassifier}[spec["estimator"]](**spec["params"])
    n_num = len(NUMERIC)
    numeric = Pipeline([("float", FunctionTransformer(_as_float)), ("impute", SimpleImputer(strategy="median")),
                        ("scale", StandardScaler())])
    prep = ColumnTransformer([
        ("num", numeric, list(range(n_num))),
        ("cat", OneHotEncoder(handle_unknown="ignore"), list(range(n_num, n_num + len(CATEGORICAL)))),
    ])
    return Pipeline([("prep", prep), ("clf", classifier)])


def model_version(name: str, business_date: dt.date) -> str:
    """<model>-<YYYYMMDD>-<8 hex of the model spec, features, label and scikit-learn version>."""
    import sklearn

    spec = {"model": MODELS[name], "numeric": NUMERIC, "categorical": CATEGORICAL, "label": f"{LABEL} > 0",
            "holdout": HOLDOUT_SHARE, "split_seed": RANDOM_STATE, "sklearn": sklearn.__version__}
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:8]
    return f"{name}-{business_date:%Y%m%d}-{digest}"


def deciles(scores: Sequence[float], ids: Sequence[str]) -> list[int]:
    """Decile per row, 1 = the highest 10% of scores … 10 = the lowest; ties broken by customer_id so the
    assignment is deterministic. Every decile is used when there are at least ten rows."""
    n = len(scores)
    order = sorted(range(n), key=lambda i: (-scores[i], ids[i]))
    out = [0] * n
    for rank, i in enumerate(order):
        out[i] = rank * 10 // n + 1
    return out


@dataclass
class _Fitted:
    run: ModelRun
    scores: list[float]
    deciles: list[int]


def train_and_score(name: str, feats: Features, business_date: dt.date) -> _Fitted:
    """Fit on a stratified split, AUC on the holdout, then score every customer with that fitted model."""
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    positives = int(feats.y.sum())
    negatives = len(feats.y) - positives
    if min(positives, negatives) < MIN_CLASS_ROWS:
        raise MlDataError(
            f"{name}: {positives} responders and {negatives} non-responders in the 30 days to {business_date}; "
            f"at least {MIN_CLASS_ROWS} of each are needed to train and measure a model")
    idx = np.arange(len(feats.y))
    train, hold = train_test_split(idx, test_size=HOLDOUT_SHARE, stratify=feats.y, random_state=RANDOM_STATE)
    model = build_estimator(name).fit(feats.X[train], feats.y[train])
    auc = float(roc_auc_score(feats.y[hold], model.predict_proba(feats.X[hold])[:, 1]))
    scores = [float(s) for s in model.predict_proba(feats.X)[:, 1]]
    dec = deciles(scores, feats.customer_ids)
    run = ModelRun(name, model_version(name, business_date), round(auc, 6), len(train), len(hold), len(scores),
                   positives, {d: dec.count(d) for d in sorted(set(dec))})
    return _Fitted(run, scores, dec)


# --- the job ----------------------------------------------------------------------------------------

def score(target: str | None, business_date: dt.date, models: Sequence[str] | None = None,
          scored_at: dt.datetime | None = None) -> ScoreResult:
    """Train, evaluate and score every model for `business_date`, then replace each model's
    (model_name, business_date) slice of cdm_ingest.ml_customer_scores and ml_model_runs in one
    transaction. Returns per-model AUC and row counts. `scored_at` defaults to now (UTC, seconds)."""
    names = list(dict.fromkeys(models or MODEL_NAMES))
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        raise MlUsageError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODEL_NAMES)}")
    scored_at = scored_at or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with Warehouse(target) as wh:
        ensure_ml_schema(wh)
        feats = read_features(wh, business_date)
        fitted = [train_and_score(name, feats, business_date) for name in names]
        write(wh, business_date, scored_at, feats.customer_ids, fitted)
    return ScoreResult(business_date, scored_at, f"{FEATURES_SCHEMA}.{FEATURES_TABLE}", [f.run for f in fitted])


def write(wh: Warehouse, business_date: dt.date, scored_at: dt.datetime, ids: list[str],
          fitted: list[_Fitted]) -> None:
    """Replace the (model_name, business_date) slices of scores and runs, all models in ONE transaction."""
    p = wh.param
    features = ",".join(NUMERIC + CATEGORICAL)
    with wh.transaction():
        for f in fitted:
            r = f.run
            for table in (SCORES, RUNS):
                wh.execute(f"DELETE FROM {table} WHERE model_name = {p} AND business_date = {p}",
                           [r.model_name, business_date])
            rows = [(cid, r.model_name, r.model_version, s, d, scored_at, business_date)
                    for cid, s, d in zip(ids, f.scores, f.deciles, strict=True)]
            _insert(wh, SCORES, SCORE_COLUMNS, rows)
            wh.execute(f"INSERT INTO {RUNS} ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join([p] * len(RUN_COLUMNS))})",
                       [r.model_name, r.model_version, business_date, r.auc, r.train_rows, r.holdout_rows,
                        r.scored_rows, r.positives, features, scored_at])


def _insert(wh: Warehouse, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """Bulk insert: DuckDB unnests one list parameter per column (executemany is row by row),
    PostgreSQL sends pages of VALUES."""
    if not rows:
        return
    cols = ", ".join(columns)
    if wh.engine == "duckdb":
        wh.execute(f"INSERT INTO {table} ({cols}) SELECT {', '.join(['unnest(?)'] * len(columns))}",
                   [list(c) for c in zip(*rows, strict=True)])
        return
    if wh.engine == "snowflake":  # the connector binds the rows into one multi-row INSERT
        wh.executemany(f"INSERT INTO {table} ({cols}) VALUES ({', '.join([wh.param] * len(columns))})", rows)
        return
    from psycopg2.extras import execute_values

    with wh.con.cursor() as cur:
        execute_values(cur, f"INSERT INTO {table} ({cols}) VALUES %s", rows, page_size=5000)
