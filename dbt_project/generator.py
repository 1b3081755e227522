"""Deterministic generator of Marketing Data Mart extracts (DESIGN.md §3).

Same arguments ⇒ byte-identical files. The world is a pure function of (seed, customers, day): every
value is derived from a hash of its coordinates, so no day's history is kept in memory. Small tables
(campaigns, flowcharts, cells, offers, runs, treatments, references) are built in Python; the large ones
(customer, contact and response history) are streamed by DuckDB straight to CSV under a memory limit.

Responses are derived from the contacts of the previous seven days, which are recomputed (they are a
pure function of the day), never stored.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import random
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .contracts import CONTRACTS, TABLES

RESPONSE_LAG_DAYS = 7
MAX_CONTACTS_PER_CUSTOMER_DAY = 5

FIRST_NAMES = ["Anna", "Ben", "Chloé", "David", "Elif", "Fatima", "Georg", "Hannah", "Ivan", "José",
               "Karin", "Luca", "María", "Noah", "Olivia", "Paweł", "Quentin", "Rosa", "Søren", "Tom",
               "Ursula", "Viktor", "Wei", "Xenia", "Yusuf", "Zoë"]
LAST_NAMES = ["Müller", "Schmidt", "O'Brien", "García", "Rossi", "Dubois", "Nowak", "Jensen", "Smith",
              "Kowalski", "Novák", "Yılmaz", "Andersson", "de Vries", "Martin", "Brown", "Łukasik",
              "Fernández", "Bianchi", "Wagner"]
CITIES = [("Berlin", "DE"), ("München", "DE"), ("Frankfurt am Main", "DE"), ("Paris", "FR"),
          ("Lyon", "FR"), ("London", "GB"), ("St. Albans", "GB"), ("New York, NY", "US"),
          ("Austin", "US"), ("Madrid", "ES"), ("Milano", "IT"), ("Amsterdam", "NL"), ("Kraków", "PL"),
          ("Zürich", "CH")]
SEGMENTS = ["GOLD", "SILVER", "BRONZE", "NEW"]
GENDERS = ["F", "M", "X"]
CHANNELS = ["EMAIL", "SMS", "DIRECT_MAIL", "PUSH", "CALL_CENTER"]
OFFER_TYPES = ["DISCOUNT", "BUNDLE", "LOYALTY_POINTS", "FREE_SHIPPING", "INFORMATIONAL"]
OBJECTIVES = ["Grow retention, reduce churn", "Cross-sell \"premium\" tier", "Win back lapsed customers",
              "Welcome journey", "Seasonal promotion"]

CONTACT_STATUSES = [(1, "Contacted", 1), (2, "Delivered", 1), (3, "Bounced", 0), (4, "Suppressed", 0)]
RESPONSE_TYPES = [(1, "Open", "OPN", 0), (2, "Click", "CLK", 1), (3, "Purchase", "PUR", 1),
                  (4, "Landing page visit", "LPV", 1), (5, "Unsubscribe", "UNS", 0),
                  (6, "Complaint", "CMP", 0)]

INJECTION_KINDS = (
    "missing_file", "empty_file", "bad_delimiter", "missing_column", "extra_column", "bad_date",
    "bad_number", "null_key", "duplicate_rows", "checksum_mismatch", "truncated_file",
    "restated_contacts", "bad_encoding", "restated_responses",
)
# Which table each injection damages unless told otherwise (KIND:table). Whole-file kinds each take a
# different table so that several can be combined in one extract.
DEFAULT_INJECTION_TABLE = {
    "missing_file": "ua_offer",
    "empty_file": "ua_cell",
    "bad_delimiter": "ua_campaign",
    "missing_column": "ua_flowchart",
    "extra_column": "ua_treatment",
    "checksum_mismatch": "ua_ccrunlog",
    "truncated_file": "ua_responsehistory",
    "bad_encoding": "customer",
    "bad_date": "customer",
    "bad_number": "ua_contacthistory",
    "null_key": "customer",
    "duplicate_rows": "ua_contacthistory",
    "restated_contacts": "ua_contacthistory",
    "restated_responses": "ua_responsehistory",
}


class GeneratorError(ValueError):
    """Bad generator arguments (a usage error)."""


def _h(*parts: object) -> int:
    """Stable 64-bit hash of the parts (Python's hash() is salted per process)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _u(*parts: object) -> float:
    return _h(*parts) / 2**64


@dataclass(frozen=True)
class Cell:
    cell_id: int
    flowchart_id: int
    position: int
    is_control: bool
    control_cell_id: int | None


@dataclass(frozen=True)
class Flowchart:
    flowchart_id: int
    campaign_id: int
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Run:
    run_id: int
    flowchart_id: int
    run_type: str
    status: str  # final status
    start: dt.datetime
    end: dt.datetime
    running_at_extract: bool  # still Running when its start day was extracted


@dataclass
class World:
    """The static part of the world (campaigns, flowcharts, cells, offers), derived from the seed."""

    seed: int
    customers: int
    start: dt.date
    campaigns: list[dict] = field(default_factory=list)
    flowcharts: list[Flowchart] = field(default_factory=list)
    offers: list[dict] = field(default_factory=list)

    @classmethod
    def build(cls, seed: int, customers: int, start: dt.date) -> World:
        w = cls(seed, customers, start)
        rng = random.Random(_h(seed, "world"))
        n_campaigns = max(4, min(60, customers // 25_000))
        n_offers = 12 + n_campaigns // 2
        for o in range(1, n_offers + 1):
            w.offers.append({
                "OfferID": o, "OfferCode": f"OFR{o:04d}", "Name": f"Offer {o}",
                "Channel": CHANNELS[rng.randrange(len(CHANNELS))],
                "OfferType": OFFER_TYPES[rng.randrange(len(OFFER_TYPES))],
                "EffectiveDate": start - dt.timedelta(days=rng.randrange(10, 90)),
                "ExpirationDate": start + dt.timedelta(days=rng.randrange(30, 365)),
            })
        fc_id = 100
        cell_id = 1000
        for c in range(1, n_campaigns + 1):
            w.campaigns.append({
                "CampaignID": c, "CampaignCode": f"CMP{c:04d}", "Name": f"Campaign {c}",
                "Objectives": OBJECTIVES[rng.randrange(len(OBJECTIVES))],
                "StartDate": start - dt.timedelta(days=rng.randrange(0, 30)),
                "EndDate": start + dt.timedelta(days=rng.randrange(10, 90)),
                "Owner": f"owner{rng.randrange(1, 9)}@example.com",
            })
            for _ in range(rng.randrange(2, 5)):
                fc_id += 1
                cells: list[Cell] = []
                control_id = cell_id + 1
                for pos in range(rng.randrange(2, 5)):
                    cell_id += 1
                    is_control = pos == 0
                    cells.append(Cell(cell_id, fc_id, pos, is_control, None if is_control else control_id))
                w.flowcharts.append(Flowchart(fc_id, c, tuple(cells)))
        return w

    def campaign_status(self, campaign: dict, day: dt.date) -> str:
        return "Active" if day <= campaign["EndDate"] else "Completed"

    def offer_for(self, cell: Cell) -> int:
        return self.offers[_h(self.seed, "offer", cell.cell_id) % len(self.offers)]["OfferID"]

    def runs(self, d: int) -> list[Run]:
        """Runs started on day index d (a pure function of d)."""
        day = self.start + dt.timedelta(days=d)
        out: list[Run] = []
        camp = {c["CampaignID"]: c for c in self.campaigns}
        for fc in self.flowcharts:
            if self.campaign_status(camp[fc.campaign_id], day) != "Active":
                continue
            kinds = []
            if d == 0 or _u(self.seed, "prun", fc.flowchart_id, d) < 0.6:
                kinds.append("Production")
            if _u(self.seed, "trun", fc.flowchart_id, d) < 0.15:
                kinds.append("Test")
            for k, run_type in enumerate(kinds):
                run_id = (d + 1) * 100_000 + fc.flowchart_id * 10 + k
                hr = _h(self.seed, "run", run_id)
                failed = run_type == "Production" and d > 0 and (hr % 100) < 6
                late = run_type == "Production" and not failed and (hr >> 8) % 100 < 5
                start_min = (23 * 60 + (hr >> 16) % 50) if late else (60 + (hr >> 16) % (20 * 60))
                start_ts = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=start_min)
                end_ts = start_ts + dt.timedelta(minutes=15 + (hr >> 32) % 105)
                out.append(Run(run_id, fc.flowchart_id, run_type, "Failed" if failed else "Succeeded",
                               start_ts, end_ts, late))
        return out

    def contact_cells(self, d: int) -> list[tuple]:
        """Cells that receive contacts on day d: every cell of each non-failed production run."""
        fcs = {f.flowchart_id: f for f in self.flowcharts}
        rows = []
        for run in self.runs(d):
            if run.run_type != "Production" or run.status == "Failed":
                continue
            fc = fcs[run.flowchart_id]
            for cell in fc.cells:
                rows.append((run.run_id, cell.cell_id, run.run_id * 10 + cell.position,
                             int(cell.is_control), run.start))
        return rows


def _fmt(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return "1" if v else "0"
    return str(v)


def _write_small(path: Path, table: str, rows: list[dict]) -> int:
    cols = CONTRACTS[table].column_names
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow([_fmt(r.get(c)) for c in cols])
    return len(rows)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def count_data_rows(path: Path) -> int:
    """Data records of a CSV (header excluded), counted with the csv module (quoted newlines are fine)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


class _BigTables:
    """customer / contact / response history streamed by DuckDB (bounded memory, multi-threaded)."""

    def __init__(self, world: World, memory_limit: str = "1GB"):
        import duckdb

        self.w = world
        self.con = duckdb.connect()
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.con.execute("SET preserve_insertion_order = true")
        self.con.execute("SET enable_progress_bar = false")  # progress is reported per date instead
        self.con.execute("CREATE TABLE first_names(i INTEGER, v VARCHAR)")
        self.con.executemany("INSERT INTO first_names VALUES (?, ?)", list(enumerate(FIRST_NAMES)))
        self.con.execute("CREATE TABLE last_names(i INTEGER, v VARCHAR)")
        self.con.executemany("INSERT INTO last_names VALUES (?, ?)", list(enumerate(LAST_NAMES)))
        self.con.execute("CREATE TABLE cities(i INTEGER, city VARCHAR, country VARCHAR)")
        self.con.executemany("INSERT INTO cities VALUES (?, ?, ?)", [(i, c, k) for i, (c, k) in enumerate(CITIES)])
        self.con.execute("CREATE TABLE segments(i INTEGER, v VARCHAR)")
        self.con.executemany("INSERT INTO segments VALUES (?, ?)", list(enumerate(SEGMENTS)))
        self.con.execute(
            "CREATE TABLE day_cells(day INTEGER, idx INTEGER, run_id BIGINT, cell_id BIGINT,"
            " treatment_id BIGINT, is_control INTEGER, run_start TIMESTAMP)")
        self.n_cells: dict[int, int] = {}

    def _ensure_cells(self, days: Iterable[int]) -> None:
        for d in days:
            if d < 0 or d in self.n_cells:
                continue
            cells = self.w.contact_cells(d)
            if cells:
                self.con.executemany(
                    "INSERT INTO day_cells VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(d, i, *c) for i, c in enumerate(cells)])
            self.n_cells[d] = len(cells)

    def _contacts_sql(self, d_lo: int, d_hi: int) -> str:
        """Contacts of days d_lo..d_hi: one UNION ALL branch per day with its constants inlined, so the
        planner sees one scan of range(customers x max contacts) and a small equi-join to the cells."""
        s, n, m = self.w.seed, self.w.customers, MAX_CONTACTS_PER_CUSTOMER_DAY
        width = max(7, len(str(n)))
        branches = []
        for d in range(d_lo, d_hi + 1):
            cells = self.n_cells[d]
            if cells == 0:
                continue
            branches.append(f"""
            select p.i, {d} as day, 'C' || lpad(cast(p.i as varchar), {width}, '0') as customer_id,
                   dc.cell_id, dc.run_id as package_id, dc.treatment_id, dc.is_control,
                   dc.run_start + to_seconds(cast(hash({s}, p.i, dc.run_id, dc.cell_id, 't') % 3600 as bigint))
                       as contact_ts,
                   case when hash({s}, p.i, dc.cell_id, dc.run_id, 's') % 100 < 70 then 1
                        when hash({s}, p.i, dc.cell_id, dc.run_id, 's') % 100 < 92 then 2
                        when hash({s}, p.i, dc.cell_id, dc.run_id, 's') % 100 < 97 then 3
                        else 4 end as status_id
            from (
                select r // {m} as i, r % {m} as k, hash({s}, r // {m}, {d}, 'c') as hc
                from range({n * m}) t(r)
                where r % {m} < least(hash({s}, r // {m}, {d}, 'n') % {m + 1}, {cells})
            ) p
            join day_cells dc on dc.day = {d} and dc.idx = cast((p.hc + p.k) % {cells} as integer)""")
        if not branches:
            return ("select null::bigint as i, null::integer as day, null::varchar as customer_id,"
                    " null::bigint as cell_id, null::bigint as package_id, null::bigint as treatment_id,"
                    " null::integer as is_control, null::timestamp as contact_ts, null::integer as status_id"
                    " where false")
        return " union all ".join(branches)

    def _copy(self, sql: str, path: Path) -> int:
        """Stream a query to CSV; returns the rows written."""
        return int(self.con.execute(f"COPY ({sql}) TO '{path}' (HEADER, DELIMITER ',', QUOTE '\"')").fetchone()[0])

    def write_customers(self, d: int, path: Path) -> int:
        s, n = self.w.seed, self.w.customers
        width = max(7, len(str(n)))
        day = self.w.start + dt.timedelta(days=d)
        # Day 0: everyone. Later days: ~2% change segment, contact details or city (a move).
        where = "true" if d == 0 else f"hash({s}, i, {d}, 'u') % 1000 < 20"
        v = "0" if d == 0 else f"{d}"
        return self._copy(f"""
            with c as (
                select i,
                       hash({s}, i, 'fn') % {len(FIRST_NAMES)} as fn,
                       hash({s}, i, 'ln') % {len(LAST_NAMES)} as ln,
                       hash({s}, i, {v}, 'city') % {len(CITIES)} as ci,
                       hash({s}, i, {v}, 'seg') % {len(SEGMENTS)} as sg
                from range({n}) t(i) where {where}
            )
            select 'C' || lpad(cast(c.i as varchar), {width}, '0') as "CustomerID",
                   f.v as "FirstName", l.v as "LastName",
                   'c' || cast(c.i as varchar) || '.' || cast(hash({s}, c.i, {v}, 'em') % 9 as varchar)
                       || '@example.com' as "Email",
                   case when hash({s}, c.i, {v}, 'ph') % 10 = 0 then null
                        else '+49 ' || lpad(cast(hash({s}, c.i, {v}, 'ph') % 10000000000 as varchar), 10, '0')
                   end as "Phone",
                   strftime(date '1950-01-01' + cast(hash({s}, c.i, 'bd') % 20000 as integer), '%Y-%m-%d')
                       as "BirthDate",
                   case hash({s}, c.i, 'g') % 3 when 0 then 'F' when 1 then 'M' else 'X' end as "Gender",
                   ct.city as "City", ct.country as "Country", sg.v as "Segment",
                   strftime(date '{self.w.start}' - cast(1 + hash({s}, c.i, 'cr') % 2000 as integer), '%Y-%m-%d')
                       as "CreatedDate",
                   '{day.isoformat()}' as "UpdateDate"
            from c
            join first_names f on f.i = c.fn
            join last_names l on l.i = c.ln
            join cities ct on ct.i = c.ci
            join segments sg on sg.i = c.sg
            order by c.i
        """, path)

    def write_contacts(self, d: int, path: Path) -> int:
        self._ensure_cells([d])
        return self._copy(f"""
            select customer_id as "CustomerID", cell_id as "CellID", package_id as "PackageID",
                   strftime(contact_ts, '%Y-%m-%d %H:%M:%S') as "ContactDateTime",
                   strftime(contact_ts, '%Y-%m-%d %H:%M:%S') as "UpdateDateTime",
                   status_id as "ContactStatusID"
            from ({self._contacts_sql(d, d)})
            order by i, cell_id, package_id
        """, path)

    def run_contact_counts(self, contacts_csv: Path) -> dict[int, int]:
        """Contacts per run (PackageID is the run), read back from the day's written file."""
        rows = self.con.execute(
            f"select \"PackageID\", count(*) from read_csv('{contacts_csv}', header = true) group by 1").fetchall()
        return {int(r): int(c) for r, c in rows}

    def write_responses(self, d: int, path: Path) -> int:
        s = self.w.seed
        lo = max(0, d - RESPONSE_LAG_DAYS)
        self._ensure_cells(range(lo, d))
        day = self.w.start + dt.timedelta(days=d)
        src = self._contacts_sql(lo, d - 1)
        return self._copy(f"""
            with c as ({src}),
            r as (
                select c.*, hash({s}, c.i, c.cell_id, c.package_id, 'r') as hr
                from c
                where c.day + 1 + hash({s}, c.i, c.cell_id, c.package_id, 'lag') % {RESPONSE_LAG_DAYS} = {d}
                  and c.status_id in (1, 2)  -- a bounced or suppressed contact never responds
                  and hash({s}, c.i, c.cell_id, c.package_id, 'r') % 10000
                      < case when c.is_control = 1 then 200 else 450 end
            )
            select customer_id as "CustomerID", treatment_id as "TreatmentInstID",
                   {d + 1} * 100000 + cast(hr % 100000 as bigint) as "ResponsePackID",
                   strftime(timestamp '{day.isoformat()} 00:00:00'
                            + to_seconds(cast((hr >> 20) % 86400 as bigint)), '%Y-%m-%d %H:%M:%S')
                       as "ResponseDateTime",
                   case when (hr >> 8) % 100 < 40 then 1 when (hr >> 8) % 100 < 70 then 2
                        when (hr >> 8) % 100 < 85 then 3 when (hr >> 8) % 100 < 95 then 4
                        when (hr >> 8) % 100 < 99 then 5 else 6 end as "ResponseTypeID",
                   case when (hr >> 40) % 100 < 97 then 1 else 0 end as "WithinDateRangeFlg",
                   case when (hr >> 44) % 100 < 96 then 1 else 0 end as "OrigContactedFlg",
                   case when (hr >> 48) % 100 < 60 then 1 else 0 end as "DirectResponse",
                   case when (hr >> 8) % 100 between 70 and 84
                        then printf('%.2f', 5 + ((hr >> 24) % 49500) / 100.0) else '0.00' end as "Revenue"
            from r
            order by customer_id, treatment_id
        """, path)

    def close(self) -> None:
        self.con.close()


def _small_tables(w: World, d: int, counts: dict[int, int]) -> dict[str, list[dict]]:
    day = w.start + dt.timedelta(days=d)
    s = w.seed
    out: dict[str, list[dict]] = {}
    # Campaigns: all on day 0; afterwards the ones that completed yesterday.
    out["ua_campaign"] = [
        {**c, "Status": w.campaign_status(c, day), "UpdateDate": day}
        for c in w.campaigns
        if d == 0 or c["EndDate"] == day - dt.timedelta(days=1)
    ]
    camp_status = {c["CampaignID"]: w.campaign_status(c, day) for c in w.campaigns}
    out["ua_flowchart"] = [
        {"FlowchartID": f.flowchart_id, "CampaignID": f.campaign_id, "Name": f"Flowchart {f.flowchart_id}",
         "FlowchartType": "Batch" if f.flowchart_id % 3 else "Real-time",
         "Status": "Active" if camp_status[f.campaign_id] == "Active" else "Inactive",
         "UpdateDate": day}
        for f in w.flowcharts
        if d == 0 or _u(s, "fcchg", f.flowchart_id, d) < 0.05
    ]
    out["ua_cell"] = [
        {"CellID": c.cell_id, "FlowchartID": c.flowchart_id, "CellCode": f"CL{c.cell_id}",
         "CellName": ("Control" if c.is_control else f"Target {c.position}") + f" of flowchart {c.flowchart_id}",
         "IsControl": c.is_control, "ControlCellID": c.control_cell_id, "UpdateDate": day}
        for f in w.flowcharts for c in f.cells
        if d == 0 or _u(s, "cellchg", c.cell_id, d) < 0.01
    ]
    out["ua_offer"] = [
        {**o, "ExpirationDate": o["ExpirationDate"] + dt.timedelta(days=30 * d), "UpdateDate": day}
        for o in w.offers
        if d == 0 or _u(s, "offchg", o["OfferID"], d) < 0.03
    ]
    runs = []
    for r in w.runs(d):
        records = counts.get(r.run_id, 0) if r.run_type == "Production" else _h(s, "rec", r.run_id) % 500
        runs.append({"RunID": r.run_id, "FlowchartID": r.flowchart_id, "RunType": r.run_type,
                     "RunStatus": "Running" if r.running_at_extract else r.status,
                     "RunStartTime": r.start, "RunEndTime": None if r.running_at_extract else r.end,
                     "RecordsProcessed": None if r.running_at_extract else records})
    if d > 0:  # yesterday's runs that were still running at extract time end today
        for r in w.runs(d - 1):
            if r.running_at_extract:
                runs.append({"RunID": r.run_id, "FlowchartID": r.flowchart_id, "RunType": r.run_type,
                             "RunStatus": r.status, "RunStartTime": r.start, "RunEndTime": r.end,
                             "RecordsProcessed": None})
    out["ua_ccrunlog"] = runs
    fcs = {f.flowchart_id: f for f in w.flowcharts}
    out["ua_treatment"] = [
        {"TreatmentInstID": r.run_id * 10 + c.position, "TreatmentCode": f"TR{r.run_id}-{c.position}",
         "CampaignID": fcs[r.flowchart_id].campaign_id, "OfferID": w.offer_for(c), "CellID": c.cell_id,
         "RunID": r.run_id, "EffectiveDateTime": r.start, "ExpirationDateTime": r.start + dt.timedelta(days=30)}
        for r in w.runs(d) if r.run_type == "Production" and r.status != "Failed"
        for c in fcs[r.flowchart_id].cells
    ]
    out["ua_contactstatus"] = [
        {"ContactStatusID": i, "Name": n, "CountsAsContact": c} for i, n, c in CONTACT_STATUSES]
    out["ua_responsetype"] = [
        {"ResponseTypeID": i, "Name": n, "Code": code, "CountsAsResponse": c} for i, n, code, c in RESPONSE_TYPES]
    return out


@dataclass
class GenerateResult:
    out: Path
    dates: list[str]
    injections: list[dict]
    rows: dict[str, dict[str, int]]  # date -> table -> rows


def _manifest(folder: Path, business_date: str, rows: dict[str, int]) -> dict:
    files = []
    for table in TABLES:
        p = folder / CONTRACTS[table].file_name
        files.append({"table": table, "file": p.name, "rows": rows[table], "sha256": sha256_file(p)})
    return {"business_date": business_date, "files": files}


def _write_manifest(folder: Path, manifest: dict) -> None:
    (folder / "_manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def generate(
    out: Path,
    customers: int,
    days: int,
    seed: int,
    start_date: dt.date = dt.date(2026, 1, 1),
    inject: Iterable[str] = (),
    inject_date: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> GenerateResult:
    if customers < 1 or days < 1:
        raise GeneratorError("--customers and --days must be at least 1")
    specs = [_parse_injection(s) for s in inject]
    out = Path(out)
    world = World.build(seed, customers, start_date)
    big = _BigTables(world)
    dates: list[str] = []
    rows: dict[str, dict[str, int]] = {}
    try:
        for d in range(days):
            day = start_date + dt.timedelta(days=d)
            folder = out / day.isoformat()
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            n = {
                "customer": big.write_customers(d, folder / "customer.csv"),
                "ua_contacthistory": big.write_contacts(d, folder / "ua_contacthistory.csv"),
                "ua_responsehistory": big.write_responses(d, folder / "ua_responsehistory.csv"),
            }
            counts = big.run_contact_counts(folder / "ua_contacthistory.csv")
            for table, trows in _small_tables(world, d, counts).items():
                n[table] = _write_small(folder / CONTRACTS[table].file_name, table, trows)
            manifest = _manifest(folder, day.isoformat(), n)
            _write_manifest(folder, manifest)
            dates.append(day.isoformat())
            rows[day.isoformat()] = {f["table"]: f["rows"] for f in manifest["files"]}
            if progress:
                progress(f"{day.isoformat()}: {sum(rows[day.isoformat()].values()):,} rows")
    finally:
        big.close()
    injections = []
    if specs:
        target = (inject_date or start_date + dt.timedelta(days=days - 1)).isoformat()
        if target not in dates:
            raise GeneratorError(f"--inject-date {target} is not one of the generated dates")
        for kind, table in specs:
            injections.append(inject_into(out / target, kind, table))
        (out / "_injections.json").write_text(json.dumps(injections, indent=2, sort_keys=True) + "\n")
    return GenerateResult(out, dates, injections, rows)


def _parse_injection(spec: str) -> tuple[str, str]:
    kind, _, table = spec.partition(":")
    if kind not in INJECTION_KINDS:
        raise GeneratorError(f"unknown injection kind {kind!r}; choose from {', '.join(INJECTION_KINDS)}")
    table = table or DEFAULT_INJECTION_TABLE[kind]
    if table not in CONTRACTS:
        raise GeneratorError(f"unknown table {table!r} in --inject {spec}")
    if kind.startswith("restated_") and table != DEFAULT_INJECTION_TABLE[kind]:
        raise GeneratorError(f"{kind} applies to {DEFAULT_INJECTION_TABLE[kind]} only, not {table}")
    return kind, table


# --- error injection ----------------------------------------------------------------------------------

def _read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _write_rows(path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> None:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def _pick(n_rows: int, count: int, offset: int = 0) -> list[int]:
    """Deterministic data-row indexes (1-based) spread over the file; kinds use different offsets so
    that two injections into one table touch different rows."""
    if n_rows == 0:
        return []
    step = max(1, n_rows // (count + 1))
    return sorted({max(1, min(n_rows, step * (k + 1) - offset % step)) for k in range(count)})


def _previous_rows(folder: Path, path: Path, kind: str) -> tuple[Path, list[list[str]]]:
    """The previous date's folder and data rows of the same file (the restated_* kinds send them again)."""
    prev = folder.parent / (dt.date.fromisoformat(folder.name) - dt.timedelta(days=1)).isoformat()
    if not (prev / path.name).exists():
        raise GeneratorError(f"{kind} needs the previous date in the same extract")
    return prev, _read_rows(prev / path.name)[1:]


def inject_into(folder: Path, kind: str, table: str) -> dict:
    """Damage one table of one date folder; returns what was done (kind, table, rows touched)."""
    contract = CONTRACTS[table]
    path = folder / contract.file_name
    mpath = folder / "_manifest.json"
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["table"] == table)
    report: dict = {"kind": kind, "table": table, "date": folder.name, "rows": []}
    refresh_manifest = True

    if kind == "missing_file":
        path.unlink()
        refresh_manifest = False
    elif kind == "empty_file":
        path.write_bytes(b"")
        refresh_manifest = False
    elif kind == "checksum_mismatch":
        data = bytearray(path.read_bytes())
        header_end = data.index(b"\n") + 1
        if header_end >= len(data):
            raise GeneratorError(f"{table} has no data rows to damage for checksum_mismatch")
        data[header_end] = ord("9") if data[header_end] != ord("9") else ord("8")  # rows unchanged
        path.write_bytes(bytes(data))
        refresh_manifest = False
    elif kind == "truncated_file":
        data = path.read_bytes()
        cut = max(data.index(b"\n") + 3, (len(data) * 2) // 3)
        while cut < len(data) and data[cut - 1 : cut] == b"\n":
            cut += 1  # make sure the file ends mid-record
        path.write_bytes(data[:cut])
        refresh_manifest = False
    else:
        rows = _read_rows(path)
        header, body = rows[0], rows[1:]
        if kind == "bad_delimiter":
            _write_rows(path, rows, delimiter=";")
        elif kind == "missing_column":
            drop = next(i for i, c in enumerate(header) if c not in contract.keys)
            report["column"] = header[drop]
            _write_rows(path, [[v for i, v in enumerate(r) if i != drop] for r in rows])
        elif kind == "extra_column":
            report["column"] = "Comment"
            _write_rows(path, [[*header, "Comment"]] + [[*r, "n/a"] for r in body])
        elif kind == "bad_encoding":
            city = header.index("City") if "City" in header else len(header) - 1
            if body:
                body[0][city] = "Zürich"
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows([header, *body])
            path.write_bytes(text.getvalue().encode("latin-1", errors="replace"))
        elif kind == "restated_responses":
            # the source sends some of the previous date's responses again, corrected: a purchase with 10.00
            # more revenue. A response has no change time, so the later business date is the newer version.
            prev, prev_rows = _previous_rows(folder, path, kind)
            picked = _pick(len(prev_rows), max(3, len(prev_rows) // 20), offset=INJECTION_KINDS.index(kind))
            if not picked:
                raise GeneratorError(f"{prev.name} has no responses to send again: inject restated_responses "
                                     "into a later date (--inject-date, --days)")
            typ, rev = header.index("ResponseTypeID"), header.index("Revenue")
            restated = []
            for ix in picked:
                r = list(prev_rows[ix - 1])
                r[typ], r[rev] = "3", f"{float(r[rev]) + 10:.2f}"
                restated.append(r)
            report["from_date"], report["restated_rows"] = prev.name, len(restated)
            report["first_row"] = len(body) + 1
            _write_rows(path, [header, *body, *restated])
        elif kind == "restated_contacts":
            _prev, prev_rows = _previous_rows(folder, path, kind)
            pkg = header.index("PackageID")
            packages = sorted({r[pkg] for r in prev_rows})
            if not packages:
                raise GeneratorError("the previous date has no contacts to restate")
            run = packages[0]
            restated = []
            ut, st = header.index("UpdateDateTime"), header.index("ContactStatusID")
            for r in prev_rows:
                if r[pkg] == run:
                    ts = dt.datetime.fromisoformat(r[ut]) + dt.timedelta(days=1)
                    restated.append([*r[:ut], ts.strftime("%Y-%m-%d %H:%M:%S"), "2", *r[st + 1 :]])
            report["package_id"] = int(run)
            report["first_row"], report["restated_rows"] = len(body) + 1, len(restated)
            _write_rows(path, [header, *body, *restated])
        else:
            if not body:
                raise GeneratorError(f"{table} has no rows on {folder.name} to inject {kind} into")
            picked = _pick(len(body), 3, offset=INJECTION_KINDS.index(kind))
            if kind == "bad_date":
                col = next(i for i, c in enumerate(header) if contract.column(c).type == "date"
                           and c not in contract.keys and c not in contract.change_time)
                for k, ix in enumerate(picked):
                    body[ix - 1][col] = ["2026-13-45", "not-a-date", "31/12/2025"][k % 3]
                report["column"] = header[col]
            elif kind == "bad_number":
                col = next(i for i, c in enumerate(header) if contract.column(c).type in ("int", "decimal")
                           and c not in contract.keys)
                for k, ix in enumerate(picked):
                    body[ix - 1][col] = ["two", "1O", "4.5.6"][k % 3]
                report["column"] = header[col]
            elif kind == "null_key":
                col = header.index(contract.keys[0])
                for k, ix in enumerate(picked[:2]):
                    body[ix - 1][col] = ["", "   "][k % 2]
                picked = picked[:2]
                report["column"] = header[col]
            elif kind == "duplicate_rows":
                # Exact copies of two rows, plus one conflicting row: same key and change time, other values.
                dups = [list(body[ix - 1]) for ix in picked[:2]]
                conflict = list(body[picked[-1] - 1])
                other = next(i for i, c in reversed(list(enumerate(header)))
                             if c not in contract.keys and c not in contract.change_time
                             and contract.column(c).type in ("int", "text"))
                value = conflict[other]
                conflict[other] = str(int(value) % 3 + 1) if value.isdigit() else value + "x"
                body.extend([*dups, conflict])
                n = len(body)
                report["duplicates_of"] = picked[:2]
                report["conflict_with"] = picked[-1]
                picked = [n - 2, n - 1, n]
            report["rows"] = picked
            _write_rows(path, [header, *body])

    if refresh_manifest:
        entry["sha256"] = sha256_file(path)
        entry["rows"] = count_data_rows(path) if kind != "bad_encoding" else entry["rows"]
        _write_manifest(folder, manifest)
    return report
