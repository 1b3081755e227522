"""IFL suite: every source code of the interface views is mapped by the mapping seeds (MAPPING_MISSING).

The IFL views show the current state (as of the last build), so these checks are not date-scoped:
a code with no row in its seed is a failure whatever the date. The mapped pairs are the ones the
models declare with the `code_mapped` dbt test (models/ifl/_ifl__models.yml).
"""

from dbt_project.reason_codes import ReasonCode
from dbt_project.validate import Check

MAPPED = [  # (view, source code column, the column its seed fills in, seed)
    ("ifl_customer", "country_code", "country_name", "map_country"),
    ("ifl_customer", "segment_code", "segment_name", "map_segment"),
    ("ifl_contact", "contact_status_id", "counts_as_contact", "map_contact_status"),
    ("ifl_response", "response_type_id", "counts_as_response", "map_response_type"),
    ("ifl_offer", "source_channel", "channel", "map_channel"),
]
REQUIRES = tuple(sorted({f"ifl.{view}" for view, *_ in MAPPED}))


def checks() -> list[Check]:
    return [Check(
        f"{view}.{code}_mapped", f"ifl.{view}", ReasonCode.MAPPING_MISSING,
        f"select {code} as unmapped_code, count(*) as rows_affected from {{batch}} "
        f"where {code} is not null and {mapped_by} is null group by {code}",
        f"every {code} of ifl.{view} has a row in seed {seed} (add it to seeds/{seed}.csv, dbt seed, rerun from ifl)")
        for view, code, mapped_by, seed in MAPPED]
