"""`dq docs`: one offline site with the dbt lineage site and the Great Expectations Data Docs.

* `dbt docs generate --static` (in-process) writes a single self-contained `static_index.html` (manifest and
  catalog inlined) into the dbt target path (`DBT_TARGET_PATH`, default target/); it is copied to
  `site/lineage/index.html`.
* The Data Docs `dq validate` / `dq smoke` render under reports/data_docs/ are copied to `site/data_docs/`.
* `site/index.html` links both (relative links, no script, no external URL: it opens from the file system).
"""

from __future__ import annotations

import datetime as dt
import html
import shutil
from dataclasses import dataclass
from pathlib import Path

from .health import dbt_target_path
from .project import ConfigError, default_target, root


@dataclass
class SiteResult:
    out: Path
    index: Path
    lineage: Path
    data_docs: Path
    data_docs_pages: int
    target: str

    def as_dict(self) -> dict:
        return {"out": str(self.out), "index": str(self.index), "lineage": str(self.lineage),
                "data_docs": str(self.data_docs), "data_docs_pages": self.data_docs_pages, "target": self.target}


def build_site(target: str | None, out: Path | None = None, data_docs_dir: Path | None = None) -> SiteResult:
    from . import dbt

    target = target or default_target()
    out = Path(out) if out else root() / "site"
    data_docs_dir = data_docs_dir or root() / "reports" / "data_docs"
    static = dbt_target_path() / "static_index.html"
    static.unlink(missing_ok=True)
    outcome = dbt.run(["docs", *dbt.build_argv("generate", target=target, extra=["--static", "--quiet"])])
    if not outcome.success or not static.exists():
        raise ConfigError(f"dbt docs generate --static failed: {outcome.error or 'no static_index.html written'}")

    (out / "lineage").mkdir(parents=True, exist_ok=True)
    lineage = out / "lineage" / "index.html"
    shutil.copyfile(static, lineage)

    dd_out = out / "data_docs"
    if dd_out.exists():
        shutil.rmtree(dd_out)
    dd_out.mkdir(parents=True)
    pages = sorted(p for p in data_docs_dir.glob("*.html")) if data_docs_dir.exists() else []
    for p in pages:
        shutil.copyfile(p, dd_out / p.name)
    runs = sorted((p for p in pages if p.name != "index.html"), reverse=True)
    if not (dd_out / "index.html").exists():  # no validation has run yet: a placeholder page
        (dd_out / "index.html").write_text(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Data Docs</title></head><body>"
            "<h1>Data validation runs</h1><p>No validation has run yet: <code>dq validate --layer all</code>."
            "</p></body></html>", encoding="utf-8")

    e = html.escape
    latest = "".join(f"<li><a href=\"data_docs/{e(p.name)}\">{e(p.stem)}</a></li>" for p in runs[:10])
    index = out / "index.html"
    index.write_text(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>CDM warehouse — documentation</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}li{margin:.3em 0}</style></head><body>"
        "<h1>CDM warehouse — documentation</h1>"
        f"<p>target {e(target)} · generated {dt.datetime.now():%Y-%m-%d %H:%M}</p><ul>"
        "<li><a href=\"lineage/index.html\">Lineage and model docs (dbt)</a> — every source, model, test, "
        "contract and exposure, LDZ → RDV → IFL → 360 → cdm_publish.</li>"
        "<li><a href=\"data_docs/index.html\">Data Docs (Great Expectations)</a> — every validation run: "
        "checks, observed failing rows, reason codes.</li></ul>"
        + (f"<h2>Latest validation runs</h2><ul>{latest}</ul>" if latest else "")
        + "</body></html>", encoding="utf-8")
    return SiteResult(out, index, lineage, dd_out, len(runs), target)
