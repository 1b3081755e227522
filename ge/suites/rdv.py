"""RDV suite: the vault rows loaded for the business date (business_date = D).

Per hub, link, satellite and reference table:
  * DUPLICATE_KEY — a key loaded for D occurs more than once in the whole table (hub/link hash key;
    satellite version = parent key, load_dts, effective_from, hashdiff, load_id; reference = code, hashdiff);
  * NULL_KEY      — a row of D has a NULL hash key, parent key, hashdiff, load_dts, record_source or load_id;
  * KEY_MISMATCH  — a link's parent key (or a satellite's parent) of D is not in its hub (or link).
The ghost record (32 zeros, business_date 1900-01-01) is never in a date's slice; links and satellites
that point at it find it in their hub, so it is neither a duplicate, a null nor an orphan.
"""

from dbt_project.reason_codes import ReasonCode
from dbt_project.validate import Check

HUBS = {  # hub: (hash key, business key)
    "h_customer": ("customer_hk", "customer_id"),
    "h_campaign": ("campaign_hk", "campaign_id"),
    "h_flowchart": ("flowchart_hk", "flowchart_id"),
    "h_flowchart_run": ("flowchart_run_hk", "run_id"),
    "h_cell": ("cell_hk", "cell_id"),
    "h_offer": ("offer_hk", "offer_id"),
    "h_treatment": ("treatment_hk", "treatment_inst_id"),
}
PARENT_HUB = {hk: hub for hub, (hk, _bk) in HUBS.items()}
LINKS = {  # link: (hash key, parent hash keys); l_contact and l_response are non-historized
    "l_cell_flowchart": ("cell_flowchart_hk", ("cell_hk", "flowchart_hk")),
    "l_flowchart_campaign": ("flowchart_campaign_hk", ("flowchart_hk", "campaign_hk")),
    "l_flowchart_run_flowchart": ("flowchart_run_flowchart_hk", ("flowchart_run_hk", "flowchart_hk")),
    "l_treatment_cell": ("treatment_cell_hk", ("treatment_hk", "campaign_hk", "offer_hk", "cell_hk",
                                               "flowchart_run_hk")),
    "l_contact": ("contact_hk", ("customer_hk", "cell_hk")),
    "l_response": ("response_hk", ("customer_hk", "treatment_hk")),
}
SATS = {  # satellite: (parent hash key, parent table)
    "s_customer_profile": ("customer_hk", "h_customer"),
    "s_campaign_details": ("campaign_hk", "h_campaign"),
    "s_flowchart_details": ("flowchart_hk", "h_flowchart"),
    "s_flowchart_run_execution": ("flowchart_run_hk", "h_flowchart_run"),
    "s_cell_details": ("cell_hk", "h_cell"),
    "s_offer_details": ("offer_hk", "h_offer"),
    "s_treatment_details": ("treatment_hk", "h_treatment"),
    "s_contact_status": ("contact_hk", "l_contact"),
    "s_response_details": ("response_hk", "l_response"),
}
REFS = {"r_contact_status": "contact_status_id", "r_response_type": "response_type_id"}
META = ("load_dts", "record_source", "load_id")
REQUIRES = tuple(f"rdv.{t}" for t in (*HUBS, *LINKS, *SATS, *REFS))


def _duplicates(table: str, key: tuple[str, ...]) -> Check:
    cols = ", ".join(key)
    return Check(
        f"{table}.key_unique", f"rdv.{table}", ReasonCode.DUPLICATE_KEY,
        f"select {cols}, count(*) as copies from {{batch}} "
        f"where ({cols}) in (select {cols} from {{batch}} where business_date = :business_date) "
        f"group by {cols} having count(*) > 1",
        f"each key ({cols}) loaded for the date is unique in rdv.{table}")


def _nulls(table: str, columns: tuple[str, ...]) -> Check:
    cols = ", ".join(columns)
    return Check(
        f"{table}.no_null_keys", f"rdv.{table}", ReasonCode.NULL_KEY,
        f"select {cols}, business_date from {{batch}} where business_date = :business_date "
        f"and ({' or '.join(f'{c} is null' for c in columns)})",
        f"no NULL in {cols} of the rows loaded for the date")


def _parent(table: str, column: str, parent: str) -> Check:
    return Check(
        f"{table}.{column}_in_{parent}", f"rdv.{table}", ReasonCode.KEY_MISMATCH,
        f"select {column} from {{batch}} where business_date = :business_date "
        f"except select {column} from rdv.{parent}",
        f"every {column} of rdv.{table} loaded for the date is in rdv.{parent}")


def checks() -> list[Check]:
    out: list[Check] = []
    for hub, (hk, _bk) in HUBS.items():
        out += [_duplicates(hub, (hk,)), _nulls(hub, (hk, *META))]
    for link, (hk, parents) in LINKS.items():
        out += [_duplicates(link, (hk,)), _nulls(link, (hk, *parents, *META))]
        out += [_parent(link, p, PARENT_HUB[p]) for p in parents]
    for sat, (parent_hk, parent) in SATS.items():
        out += [_duplicates(sat, (parent_hk, "load_dts", "effective_from", "hashdiff", "load_id")),
                _nulls(sat, (parent_hk, "hashdiff", *META)),
                _parent(sat, parent_hk, parent)]
    for ref, key in REFS.items():
        out += [_duplicates(ref, (key, "hashdiff")), _nulls(ref, (key, "hashdiff", *META))]
    return out
