"""The source contract of the Marketing Data Mart extract (DESIGN.md §3), declared once.

The generator writes it, the ingest validates against it, and the LDZ tables are created from it.
Column names are the source names; in the warehouse they appear lower-cased (unquoted identifiers),
staging renames them to snake_case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Contract types. Each maps to one warehouse type per engine (see ldz.py).
TEXT, INT, DECIMAL, DATE, TIMESTAMP, FLAG = "text", "int", "decimal", "date", "timestamp", "flag"

# What the text of a typed value must be, whole: a regular expression without anchors ([0-9], never \d,
# which matches other digits on some engines and is an escape in Snowflake's string literals). Surrounding
# spaces (' ' only) are allowed and ignored; nothing else is: no exponent, hexadecimal, underscores, NaN,
# tabs. Years 0001-9999, hours 00-23, seconds 00-59; months and days are left to the engines' casts, which
# agree. The ingest checks it on every engine before casting (ldz.py); the generator writes it.
_YEAR = "([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_DAY = f"{_YEAR}-[0-9]{{2}}-[0-9]{{2}}"
SHAPE = {INT: " *[+-]?[0-9]+ *", FLAG: " *[+-]?[0-9]+ *", DECIMAL: " *[+-]?[0-9]+([.][0-9]+)? *",
         DATE: f" *{_DAY} *", TIMESTAMP: f" *{_DAY} ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9] *"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str

    @property
    def db_name(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class TableContract:
    table: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    # Columns that order successive versions of one key inside a file. Rows of one key with different
    # change times are versions (all load); the same key *and* change time twice is a duplicate.
    change_time: tuple[str, ...] = ()
    optional: bool = False
    kind: str = "dimension"  # dimension | history | reference
    description: str = ""
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return f"{self.table}.csv"

    @property
    def ldz_table(self) -> str:
        return f"ldz_{self.table}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _cols(*spec: tuple[str, str]) -> tuple[Column, ...]:
    return tuple(Column(n, t) for n, t in spec)


CONTRACTS: dict[str, TableContract] = {
    c.table: c
    for c in (
        TableContract(
            "customer",
            _cols(("CustomerID", TEXT), ("FirstName", TEXT), ("LastName", TEXT), ("Email", TEXT),
                  ("Phone", TEXT), ("BirthDate", DATE), ("Gender", TEXT), ("City", TEXT),
                  ("Country", TEXT), ("Segment", TEXT), ("CreatedDate", DATE), ("UpdateDate", DATE)),
            keys=("CustomerID",), change_time=("UpdateDate",),
            description="Audience: customers changed that day (the first date: all).",
        ),
        TableContract(
            "ua_campaign",
            _cols(("CampaignID", INT), ("CampaignCode", TEXT), ("Name", TEXT), ("Objectives", TEXT),
                  ("StartDate", DATE), ("EndDate", DATE), ("Status", TEXT), ("Owner", TEXT),
                  ("UpdateDate", DATE)),
            keys=("CampaignID",), change_time=("UpdateDate",),
            description="Campaigns changed that day.",
        ),
        TableContract(
            "ua_flowchart",
            _cols(("FlowchartID", INT), ("CampaignID", INT), ("Name", TEXT), ("FlowchartType", TEXT),
                  ("Status", TEXT), ("UpdateDate", DATE)),
            keys=("FlowchartID",), change_time=("UpdateDate",),
            description="Flowcharts changed that day.",
        ),
        TableContract(
            "ua_ccrunlog",
            _cols(("RunID", INT), ("FlowchartID", INT), ("RunType", TEXT), ("RunStatus", TEXT),
                  ("RunStartTime", TIMESTAMP), ("RunEndTime", TIMESTAMP), ("RecordsProcessed", INT)),
            keys=("RunID",), change_time=("RunEndTime",), kind="history",
            description="Flowchart runs (executions) of that day; a run may appear again when it ends.",
        ),
        TableContract(
            "ua_cell",
            _cols(("CellID", INT), ("FlowchartID", INT), ("CellCode", TEXT), ("CellName", TEXT),
                  ("IsControl", FLAG), ("ControlCellID", INT), ("UpdateDate", DATE)),
            keys=("CellID",), change_time=("UpdateDate",),
            description="Target and control cells changed that day.",
        ),
        TableContract(
            "ua_offer",
            _cols(("OfferID", INT), ("OfferCode", TEXT), ("Name", TEXT), ("Channel", TEXT),
                  ("OfferType", TEXT), ("EffectiveDate", DATE), ("ExpirationDate", DATE),
                  ("UpdateDate", DATE)),
            keys=("OfferID",), change_time=("UpdateDate",),
            description="Offers changed that day.",
        ),
        TableContract(
            "ua_treatment",
            _cols(("TreatmentInstID", INT), ("TreatmentCode", TEXT), ("CampaignID", INT), ("OfferID", INT),
                  ("CellID", INT), ("RunID", INT), ("EffectiveDateTime", TIMESTAMP),
                  ("ExpirationDateTime", TIMESTAMP)),
            keys=("TreatmentInstID",), kind="history",
            description="Treatment instances (offer given to a cell in a run) created that day.",
        ),
        TableContract(
            "ua_contacthistory",
            _cols(("CustomerID", TEXT), ("CellID", INT), ("PackageID", INT), ("ContactDateTime", TIMESTAMP),
                  ("UpdateDateTime", TIMESTAMP), ("ContactStatusID", INT)),
            keys=("CustomerID", "CellID", "PackageID"), change_time=("UpdateDateTime",), kind="history",
            description="Contacts of that day; may restate earlier contacts of the same run.",
        ),
        TableContract(
            "ua_responsehistory",
            _cols(("CustomerID", TEXT), ("TreatmentInstID", INT), ("ResponsePackID", INT),
                  ("ResponseDateTime", TIMESTAMP), ("ResponseTypeID", INT), ("WithinDateRangeFlg", FLAG),
                  ("OrigContactedFlg", FLAG), ("DirectResponse", FLAG), ("Revenue", DECIMAL)),
            keys=("CustomerID", "TreatmentInstID", "ResponsePackID"), change_time=("ResponseDateTime",),
            kind="history",
            description="Responses recorded that day.",
        ),
        TableContract(
            "ua_contactstatus",
            _cols(("ContactStatusID", INT), ("Name", TEXT), ("CountsAsContact", FLAG)),
            keys=("ContactStatusID",), optional=True, kind="reference",
            description="Contact status reference (optional).",
        ),
        TableContract(
            "ua_responsetype",
            _cols(("ResponseTypeID", INT), ("Name", TEXT), ("Code", TEXT), ("CountsAsResponse", FLAG)),
            keys=("ResponseTypeID",), optional=True, kind="reference",
            description="Response type reference (optional).",
        ),
    )
}

TABLES: tuple[str, ...] = tuple(CONTRACTS)

# Technical columns the ingest adds to every LDZ table, in order.
LDZ_TECH_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_business_date", DATE),
    ("_load_id", TEXT),
    ("_source_file", TEXT),
    ("_row_number", INT),
    ("_loaded_at", TIMESTAMP),
)
