"""Publish suite: what consumers read (cdm_publish.<name>_v<version>).

  * SCHEMA_MISMATCH — every contract column (models/cdm_publish/_cdm_publish__models.yml, the same
    contract dbt enforces at build time) is present with its type family (text, integer, number, date,
    timestamp), read from information_schema;
  * ZERO_ROWS — the model has no row as of the business date or a later one (as_of_date >= D: the published
    tables never move back, so a past date is published through the latest as-of date).
"""

import yaml

from dbt_project.project import root
from dbt_project.reason_codes import ReasonCode
from dbt_project.validate import Check

FAMILY = {"varchar": "text", "text": "text", "char": "text", "integer": "integer", "bigint": "integer",
          "int": "integer", "smallint": "integer", "double": "number", "numeric": "number", "decimal": "number",
          "real": "number", "float": "number", "date": "date", "timestamp": "timestamp", "boolean": "boolean"}
# the engine's information_schema data_type -> family (DuckDB: VARCHAR, DECIMAL(18,2), DOUBLE, ...;
# PostgreSQL: character varying, numeric, double precision, timestamp without time zone, ...; Snowflake:
# TEXT, NUMBER with its scale — 0 for every integer type —, FLOAT, TIMESTAMP_NTZ, ...)
ACTUAL_FAMILY = """case
    when lower(data_type) like '%char%' or lower(data_type) = 'text' then 'text'
    when lower(data_type) in ('integer', 'bigint', 'smallint', 'int', 'hugeint') then 'integer'
    when lower(data_type) = 'number' and numeric_scale = 0 then 'integer'
    when lower(data_type) = 'number' then 'number'
    when lower(data_type) like 'decimal%' or lower(data_type) like 'numeric%' or lower(data_type) like 'double%'
        or lower(data_type) in ('real', 'float') then 'number'
    when lower(data_type) = 'date' then 'date'
    when lower(data_type) like 'timestamp%' then 'timestamp'
    when lower(data_type) = 'boolean' then 'boolean'
    else lower(data_type) end"""


def contracts() -> dict[str, list[tuple[str, str]]]:
    """{relation: [(column, type family)]} from the dbt contract of every publish model."""
    spec = yaml.safe_load((root() / "models" / "cdm_publish" / "_cdm_publish__models.yml").read_text())
    out = {}
    for model in spec["models"]:
        for version in model.get("versions", [{"v": None}]):
            alias = (version.get("config") or {}).get("alias") or model["name"]
            cols = [(c["name"], FAMILY[c["data_type"].split("(")[0].split()[0].lower()]) for c in model["columns"]]
            out[f"cdm_publish.{alias}"] = cols
    return out


REQUIRES = tuple(contracts())


def _contract(relation: str, cols: list[tuple[str, str]]) -> Check:
    schema, name = relation.split(".")
    expected = " union all ".join(f"select '{c}' as column_name, '{f}' as type_family" for c, f in cols)
    return Check(
        f"{name}.contract_columns", relation, ReasonCode.SCHEMA_MISMATCH,
        f"select column_name, type_family as expected_type from ({expected}) as contract "
        f"where (select count(*) from {{batch}} where 1 = 0) = 0 "  # anchors the query on the batch
        f"except select lower(column_name), {ACTUAL_FAMILY} from information_schema.columns "
        f"where lower(table_schema) = '{schema}' and lower(table_name) = '{name}'",  # Snowflake: upper-cased
        f"{relation} has every contract column with its type family")


def _rows(relation: str) -> Check:
    return Check(
        f"{relation.split('.')[1]}.rows_for_date", relation, ReasonCode.ZERO_ROWS,
        "select 'no rows as of the date or later' as problem from (select count(*) as n from {batch} "
        "where as_of_date >= :business_date) as counted where n = 0",
        f"{relation} has rows as of the business date or later")


def checks() -> list[Check]:
    out = []
    for relation, cols in contracts().items():
        out += [_contract(relation, cols), _rows(relation)]
    return out
