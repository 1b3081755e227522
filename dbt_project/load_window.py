"""The load window: which business dates the next dbt build loads, and the date the interface and 360 layers
are built as of (meta.load_window, one row).

dbt reads it at run time, not parse time, so building another date never costs a re-parse.

The as-of date never moves back: it is the window's end, or the date Customer 360 is already built as of
when that is later. Loading or rerunning a past date (late or corrected data) puts its rows into the vault
and rebuilds the 360 layer as of the latest date, so consumers never see the published tables rewound.
`dbt build --vars '{as_of: YYYY-MM-DD}'` overrides it (macros/ifl/as_of_date.sql).
"""

from __future__ import annotations

import datetime as dt

from .warehouse import Warehouse


def built_as_of(wh: Warehouse) -> dt.date | None:
    """The date Customer 360 is built as of (None before its first build)."""
    if not wh.table_exists("c360", "customer_360"):
        return None
    value = wh.scalar("SELECT max(as_of_date) FROM c360.customer_360")
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.date() if isinstance(value, dt.datetime) else value


def set_window(wh: Warehouse, from_date: dt.date, to_date: dt.date) -> None:
    """Replace the window (call inside the caller's transaction, or on its own)."""
    if to_date < from_date:
        raise ValueError(f"the window ends ({to_date}) before it starts ({from_date})")
    built = built_as_of(wh)
    as_of = max(to_date, built) if built else to_date
    wh.execute("DELETE FROM meta.load_window")
    wh.execute(f"INSERT INTO meta.load_window (from_date, to_date, as_of_date) VALUES ({wh.param}, {wh.param}, "
               f"{wh.param})", [from_date, to_date, as_of])
