"""LDZ -> RDV suite: what LDZ accepted for the business date (ldz.ldz_<table>, _business_date = D) reached
the vault. Rows quarantined in ldz.ldz_rejects were never accepted and are not expected in the vault.

  * KEY_MISMATCH — a distinct business key (or a non-NULL foreign key) accepted for D is not in its hub.
    Keys are compared as delivered (the hub keeps the business key of its first sighting).
  * ROW_COUNT_MISMATCH — contacts and responses reconcile with their non-historized links, by key, in three
    checks (their fixes differ):
    (a) `<table>.reconciles_<link>`: every distinct key (customer x cell x package; customer x treatment x
        response pack) accepted for D is in the link — loaded for D, or earlier when D restates it (the
        link keeps the first delivery of a restated contact or response; its new status or corrected
        values are a version in s_contact_status / s_response_details). A build of D (`dq rerun --layer
        rdv`) fixes it;
    (b) `<table>.<link>_rows_in_ldz`: every link row with business_date D comes from a key accepted for D.
        When it fails, the vault holds rows the current landing of D no longer has (re-landed with fewer
        rows, or rows now quarantined): no build removes them from the insert-only vault (`dq plan`
        escalates: re-land the fuller delivery, or a restore);
    (c) `<table>.<satellite>_rows_in_ldz`: every version in s_contact_status / s_response_details with
        business_date D of a contact or response first delivered on another date (D restated it, or sent
        it again corrected) comes from a key accepted for D. When it fails, D was landed again without
        those restated rows: their versions stay current in the vault (`dq plan` escalates, as for (b)).
    So "accepted distinct keys for D" = "link rows of D" + "keys of D first delivered on another date";
    each failing row names the key.
"""

from dbt_project.reason_codes import ReasonCode
from dbt_project.validate import Check

KEYS = {  # LDZ table: [(LDZ column, hub, hub business key)]
    "ldz_customer": [("customerid", "h_customer", "customer_id")],
    "ldz_ua_campaign": [("campaignid", "h_campaign", "campaign_id")],
    "ldz_ua_flowchart": [("flowchartid", "h_flowchart", "flowchart_id"),
                         ("campaignid", "h_campaign", "campaign_id")],
    "ldz_ua_ccrunlog": [("runid", "h_flowchart_run", "run_id"), ("flowchartid", "h_flowchart", "flowchart_id")],
    "ldz_ua_cell": [("cellid", "h_cell", "cell_id"), ("flowchartid", "h_flowchart", "flowchart_id")],
    "ldz_ua_offer": [("offerid", "h_offer", "offer_id")],
    "ldz_ua_treatment": [("treatmentinstid", "h_treatment", "treatment_inst_id"),
                         ("campaignid", "h_campaign", "campaign_id"), ("offerid", "h_offer", "offer_id"),
                         ("cellid", "h_cell", "cell_id"), ("runid", "h_flowchart_run", "run_id")],
    "ldz_ua_contacthistory": [("customerid", "h_customer", "customer_id"), ("cellid", "h_cell", "cell_id")],
    "ldz_ua_responsehistory": [("customerid", "h_customer", "customer_id"),
                               ("treatmentinstid", "h_treatment", "treatment_inst_id")],
}
EVENTS = {  # LDZ table: (link, [(LDZ column, link column)]) — the event's key
    "ldz_ua_contacthistory": ("l_contact", [("customerid", "customer_id"), ("cellid", "cell_id"),
                                            ("packageid", "package_id")]),
    "ldz_ua_responsehistory": ("l_response", [("customerid", "customer_id"),
                                              ("treatmentinstid", "treatment_inst_id"),
                                              ("responsepackid", "response_pack_id")]),
}
VERSIONS = {  # LDZ table: (satellite of the event, its hash key)
    "ldz_ua_contacthistory": ("s_contact_status", "contact_hk"),
    "ldz_ua_responsehistory": ("s_response_details", "response_hk"),
}
REQUIRES = (*(f"ldz.{t}" for t in KEYS), *sorted({f"rdv.{h}" for cols in KEYS.values() for _c, h, _b in cols}),
            *(f"rdv.{link}" for link, _cols in EVENTS.values()), *(f"rdv.{sat}" for sat, _hk in VERSIONS.values()))


def _key_in_hub(table: str, column: str, hub: str, bk: str) -> Check:
    return Check(
        f"{table}.{column}_in_{hub}", f"ldz.{table}", ReasonCode.KEY_MISMATCH,
        f"select {column} as {bk} from {{batch}} where _business_date = :business_date and {column} is not null "
        f"except select {bk} from rdv.{hub}",
        f"every distinct {column} accepted in ldz.{table} for the date is in rdv.{hub}")


def _events_reconcile(table: str, link: str, cols: list[tuple[str, str]]) -> list[Check]:
    ldz_cols = ", ".join(c for c, _ in cols)
    link_cols = ", ".join(c for _, c in cols)
    aliased = ", ".join(f"{c} as {lc}" for c, lc in cols)
    return [
        Check(f"{table}.reconciles_{link}", f"ldz.{table}", ReasonCode.ROW_COUNT_MISMATCH,
              f"select 'accepted in LDZ, not in rdv.{link}' as problem, {link_cols} from ("
              f"select {aliased} from {{batch}} where _business_date = :business_date "
              f"except select {link_cols} from rdv.{link}) as missing_in_link",
              f"every distinct key accepted in ldz.{table} for the date is in rdv.{link} (loaded for the date, "
              "or earlier when the date restates it)"),
        Check(f"{table}.{link}_rows_in_ldz", f"ldz.{table}", ReasonCode.ROW_COUNT_MISMATCH,
              f"select 'in rdv.{link} for the date, not accepted in LDZ' as problem, {link_cols} from ("
              f"select {link_cols} from rdv.{link} where business_date = :business_date "
              f"except select {ldz_cols} from {{batch}} where _business_date = :business_date) as not_accepted",
              f"every row of rdv.{link} for the date comes from a key accepted in ldz.{table} for the date"),
    ]


def _versions_in_ldz(table: str, link: str, cols: list[tuple[str, str]], sat: str, hk: str) -> Check:
    ldz_cols = ", ".join(c for c, _ in cols)
    link_cols = ", ".join(c for _, c in cols)
    return Check(
        f"{table}.{sat}_rows_in_ldz", f"ldz.{table}", ReasonCode.ROW_COUNT_MISMATCH,
        f"select 'a version in rdv.{sat} for the date, not accepted in LDZ' as problem, {link_cols} from ("
        f"select {link_cols} from rdv.{link} where {hk} in ("  # the restated keys of D: usually none
        f"select {hk} from rdv.{sat} where business_date = :business_date "
        f"except select {hk} from rdv.{link} where business_date = :business_date) "
        f"except select {ldz_cols} from {{batch}} where _business_date = :business_date) as not_accepted",
        f"every version in rdv.{sat} for the date of a key first delivered on another date comes from a key "
        f"accepted in ldz.{table} for the date")


def checks() -> list[Check]:
    out = [_key_in_hub(t, c, h, b) for t, cols in KEYS.items() for c, h, b in cols]
    out += [c for t, (link, cols) in EVENTS.items() for c in _events_reconcile(t, link, cols)]
    out += [_versions_in_ldz(t, *EVENTS[t], *VERSIONS[t]) for t in VERSIONS]
    return out
