"""The load window: which business dates the next dbt build loads (meta.load_window, one row).

dbt reads it at run time, not parse time, so building another date never costs a re-parse.
"""

from __future__ import annotations

import datetime as dt

from .warehouse import Warehouse


def set_window(wh: Warehouse, from_date: dt.date, to_date: dt.date) -> None:
    """Replace the window (call inside the caller's transaction, or on its own)."""
    if to_date < from_date:
        raise ValueError(f"the window ends ({to_date}) before it starts ({from_date})")
    wh.execute("DELETE FROM meta.load_window")
    wh.execute(f"INSERT INTO meta.load_window VALUES ({wh.param}, {wh.param})", [from_date, to_date])

