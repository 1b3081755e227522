"""Golden test: the hashing macros give the bytes DESIGN.md §5 defines, identically on every engine.

The expected values come from an independent Python implementation of the rule, not from SQL.
"""

from __future__ import annotations

import hashlib

from dbt_project import dbt
from dbt_project.warehouse import Warehouse

GHOST = "0" * 32
NULL, DELIM = "^^", "||"

# (label, parts) — parts are SQL literals of single- and multi-part keys
CASES = [
    ("plain", ["'C0000042'"]),
    ("case_and_spaces", ["'  c0000042 '"]),
    ("empty", ["''"]),
    ("blank", ["'   '"]),
    ("null", ["cast(null as varchar)"]),
    ("unicode", ["'Müller Zoë é ß Łukasz'"]),
    ("upper_ascii_lower_unicode", ["'MÜLLER ZOË é ß'"]),
    ("only_unicode_lower", ["'é ß ł'"]),
    ("already_upper", ["'ÉCOLE C0000042'"]),
    ("tab_is_kept", ["'\tx '"]),
    ("unicode_spaces_are_kept", ["'\u00a0c1\u3000'"]),  # no-break and ideographic space: not ' '
    ("delimiter_inside", ["'a||b'"]),
    ("null_marker_inside", ["'^^'"]),
    ("quote_inside", ["'O''Brien'"]),
    ("two_parts", ["'C1'", "'1001'"]),
    ("one_null_part", ["'c1'", "cast(null as varchar)"]),
    ("all_parts_null", ["cast(null as varchar)", "''"]),
    ("integer", ["cast(42 as bigint)"]),
    ("date", ["cast('2026-01-31' as date)"]),
    ("timestamp", ["cast('2026-01-31 23:59:58' as timestamp)"]),
    ("decimal", ["cast(12.5 as decimal(18, 2))"]),
]
# what each SQL literal is as text (the value the rule hashes)
TEXT = {
    "'C0000042'": "C0000042", "'  c0000042 '": "  c0000042 ", "''": "", "'   '": "   ",
    "cast(null as varchar)": None, "'Müller Zoë é ß Łukasz'": "Müller Zoë é ß Łukasz",
    "'MÜLLER ZOË é ß'": "MÜLLER ZOË é ß", "'é ß ł'": "é ß ł", "'ÉCOLE C0000042'": "ÉCOLE C0000042", "'\tx '": "\tx ",
    "'\u00a0c1\u3000'": "\u00a0c1\u3000",
    "'a||b'": "a||b", "'^^'": "^^", "'O''Brien'": "O'Brien", "'C1'": "C1", "'1001'": "1001", "'c1'": "c1",
    "cast(42 as bigint)": "42", "cast('2026-01-31' as date)": "2026-01-31",
    "cast('2026-01-31 23:59:58' as timestamp)": "2026-01-31 23:59:58", "cast(12.5 as decimal(18, 2))": "12.50",
}


def _ascii_upper(s: str) -> str:
    return "".join(chr(ord(c) - 32) if "a" <= c <= "z" else c for c in s)


def reference_hash_key(values: list[str | None]) -> str:
    trimmed = [None if v is None else v.strip(" ") for v in values]
    if all(not t for t in trimmed):
        return GHOST
    return hashlib.md5(DELIM.join(_ascii_upper(t) if t else NULL for t in trimmed).encode()).hexdigest()


def reference_hash_diff(values_by_column: dict[str, str | None]) -> str:
    parts = []
    for col in sorted(values_by_column):
        v = values_by_column[col]
        t = None if v is None else v.strip(" ")
        parts.append(t if t else NULL)
    return hashlib.md5(DELIM.join(parts).encode()).hexdigest()


def _compiled_sql(target: str) -> str:
    selects = []
    for label, parts in CASES:
        cols = [f"c{i}" for i in range(len(parts))]
        key = "{{ cdm.hash_key(" + repr(cols) + ") }}"
        diff = "{{ cdm.hash_diff(" + repr(list(reversed(cols))) + ") }}"
        inner = ", ".join(f"{p} as {c}" for p, c in zip(parts, cols, strict=True))
        selects.append(f"select '{label}' as label, {key} as hk, {diff} as hd from (select {inner}) as t")
    inline = "\nunion all\n".join(selects)
    outcome = dbt.run(dbt.build_argv("compile", target=target, extra=["--inline", inline, "--quiet"]))
    assert outcome.success, outcome.error
    return outcome.compiled


def test_hash_keys_and_diffs_are_golden_on_every_engine(target):
    golden_sql = _compiled_sql(target)  # compiled for the engine: the macros dispatch per engine
    with Warehouse(target) as wh:
        got = {label: (hk, hd) for label, hk, hd in wh.query(golden_sql)}
    for label, parts in CASES:
        values = [TEXT[p] for p in parts]
        expected_key = reference_hash_key(values)
        expected_diff = reference_hash_diff({f"c{i}": v for i, v in enumerate(values)})
        assert got[label] == (expected_key, expected_diff), label


def test_the_rule_itself():
    assert reference_hash_key([None]) == reference_hash_key(["  "]) == GHOST
    assert reference_hash_key([" ab "]) == hashlib.md5(b"AB").hexdigest()
    assert reference_hash_key(["a", None]) == hashlib.md5(b"A||^^").hexdigest()
    assert reference_hash_diff({"b": "x", "a": None}) == hashlib.md5(b"^^||x").hexdigest()
