"""`dq release snapshot | list | diff | rollback` (DESIGN.md §8): thin click commands over dbt_project/release.py."""

from __future__ import annotations

import functools
import json
import sys

import click
from rich.table import Table

from . import params
from .errors import DATA_FAILURE, OK, USAGE, fail, handle_errors

console = params.Output(stderr=False, highlight=False)
err_console = params.Output(stderr=True, highlight=False)


def _release_errors(fn):
    """Another release operation or a run holds the warehouse: exit 2 LOCK_TIMEOUT."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .release import ReleaseBusy

        try:
            return fn(*args, **kwargs)
        except ReleaseBusy as exc:
            fail(str(exc), USAGE, exc.reason, bool(kwargs.get("as_json")))

    return wrapper


def _progress(as_json: bool):
    return None if as_json else (lambda msg: err_console.print(f"  {msg}"))


def _t(target: str | None) -> str:
    return f" --target {target}" if target and target != "dev" else ""


@click.group("release")
def release_group() -> None:
    """Release snapshots of what consumers read (cdm_publish), their diff, and rollback.

    \b
    Before a deploy: `dq release snapshot --tag vX`. After it: `dq smoke`. On SMOKE_FAILED:
    `dq release diff latest`, then `dq release rollback latest --yes` (runbooks/10-release-and-rollback.md).
    A release is named by its id, its tag, or `latest`.
    """


@release_group.command("snapshot")
@click.option("--tag", default=None, help="A name for the release (e.g. the version being deployed over).")
@click.option("--keep", type=click.IntRange(1), default=3, show_default=True,
              help="Copies to keep: older complete releases are pruned (their metadata stays for `diff`).")
@params.target
@params.json_output
@handle_errors
@_release_errors
def snapshot_cmd(tag, keep, target, as_json):
    """Record a release: git sha, tag, time, the dbt model checksums, and a copy of every cdm_publish relation
    (schema release_<id>, one transaction) with row counts, content hashes and column types (meta.releases)."""
    from .release import snapshot

    snap = snapshot(target, tag, keep, _progress(as_json))
    if as_json:
        click.echo(json.dumps(snap.as_dict(), indent=2, default=str))
        return
    console.print(f"release [bold]{snap.release_id}[/]" + (f" ({snap.tag})" if snap.tag else "")
                  + f" · code {snap.version_tag} · published data as of {snap.as_of_date} · {len(snap.relations)} "
                  f"relation(s), {snap.total_rows:,} rows → {snap.snapshot_schema} · {snap.models} checksums "
                  f"· {snap.seconds:.1f}s")
    if snap.manifest_error:
        console.print(f"[yellow]models not recorded[/]: {snap.manifest_error} (diff cannot compare models)")
    if snap.pruned:
        console.print(f"pruned (--keep {keep}): {', '.join(snap.pruned)}")
    console.print(f"roll back to it with: dq release rollback {snap.release_id} --yes{_t(target)}")


@release_group.command("list")
@params.target
@params.json_output
@handle_errors
def list_cmd(target, as_json):
    """The releases, newest first, with the rows of each published relation."""
    from .release import list_all

    rows = list_all(target)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        console.print("no release yet: `dq release snapshot --tag <version>` before the next deploy")
        return
    t = Table(title="meta.releases (newest first)", title_justify="left")
    for col in ("release", "tag", "code", "created", "as of", "status", "tables", "rows", "rollbacks"):
        t.add_column(col, overflow="fold", justify="right" if col in ("tables", "rows", "rollbacks") else "left",
                     no_wrap=col in ("release", "status"))
    for r in rows:
        style = {"complete": "green", "failed": "red", "creating": "yellow"}.get(r["status"], "dim")
        t.add_row(r["release_id"], r["tag"] or "", r["version_tag"], str(r["created_at"])[:19].replace("T", " "),
                  str(r["as_of_date"]), f"[{style}]{r['status']}[/]", str(len(r["rows"])),
                  f"{sum(r['rows'].values()):,}", str(r["rollbacks"]))
    console.print(t)
    newest = rows[0]
    console.print(f"rows per relation of {newest['release_id']}: "
                  + ", ".join(f"{k} {v:,}" for k, v in newest["rows"].items()) + " (all releases: --json)")


@release_group.command("diff")
@click.argument("a")
@click.argument("b", default="current")
@params.target
@params.json_output
@handle_errors
def diff_cmd(a, b, target, as_json):
    """What changed from release A to B (default `current`: the live warehouse and the checked-out project):
    models added / removed / changed (checksums), publish relations and columns added / removed / retyped
    (contract drift), rows per publish relation. Reads only; exit 0 either way ("changed" in --json)."""
    from .release import diff

    d = diff(target, a, b, _progress(as_json))
    if as_json:
        click.echo(json.dumps(d, indent=2, default=str))
        return
    console.print(f"[bold]{d['from']} → {d['to']}[/] on {d['target']}")
    m = d["models"]
    if m.get("note"):
        console.print(f"models: {m['note']}")
    for uid in m["added"]:
        console.print(f"  [green]+ {uid}[/]")
    for uid in m["removed"]:
        console.print(f"  [red]- {uid}[/]")
    for c in m["changed"]:
        console.print(f"  [yellow]~ {c['unique_id']}[/] ({', '.join(c['changed'])})")
    if not (m["added"] or m["removed"] or m["changed"]) and not m.get("note"):
        console.print("models: no change")
    t = Table(title="cdm_publish", title_justify="left")
    for col in ("relation", "status", "rows from", "rows to", "columns"):
        t.add_column(col, overflow="fold", justify="right" if col.startswith("rows") else "left")
    for r in d["relations"]:
        cols = [f"+{c}" for c in r["columns_added"]] + [f"-{c}" for c in r["columns_removed"]] + \
               [f"{x['column']}: {x['from']} → {x['to']}" for x in r["columns_retyped"]]
        style = "dim" if r["status"] == "same" else "red" if r["status"] in ("removed", "contract drift") else "yellow"
        t.add_row(r["relation"], f"[{style}]{r['status']}[/]", "" if r["rows_from"] is None else f"{r['rows_from']:,}",
                  "" if r["rows_to"] is None else f"{r['rows_to']:,}", "; ".join(cols))
    console.print(t)


@release_group.command("rollback")
@click.argument("release")
@click.option("--yes", is_flag=True, help="Do it (without it: print what would be done and change nothing).")
@click.option("--dry-run", is_flag=True, help="Print what would be done; change nothing (exit 0).")
@params.target
@params.json_output
@handle_errors
@_release_errors
def rollback_cmd(release, yes, dry_run, target, as_json):
    """Restore cdm_publish from RELEASE (id, tag or `latest`) in one transaction, verify each relation's rows
    against the release, record it (meta.etl_runs job rollback, reason OPERATOR_REQUEST, evidence file), then
    run the smoke test.

    \b
    Exit 0 restored and smoke passed · 1 the restore or the smoke failed (reason code printed) ·
    2 refused without --yes, unknown or pruned release, LOCK_TIMEOUT (a run or another rollback is working),
    connection.
    """
    from .release import plan_rollback, rollback

    if dry_run or not yes:
        rb = plan_rollback(target, release)
        if as_json:
            click.echo(json.dumps(rb.as_dict() | {"dry_run": True}, indent=2, default=str))
        else:
            _print_plan(rb)
        if dry_run:
            sys.exit(OK)
        click.echo(f"refused: a rollback replaces what consumers read. Run again with --yes: "
                   f"dq release rollback {rb.release_id} --yes{_t(target)}", err=True)
        sys.exit(USAGE)
    rb = rollback(target, release, _progress(as_json))
    if as_json:
        click.echo(json.dumps(rb.as_dict(), indent=2, default=str))
    else:
        _print_plan(rb)
        if rb.smoke:
            failed = ", ".join(rb.smoke["failed_checks"])
            console.print("smoke: " + ("[green]passed[/]" if rb.smoke["ok"] else f"[red]failed[/] ({failed})"))
        if rb.ok:
            console.print(f"[green]rolled back[/] to {rb.release_id}; downstream: unblock")
        else:
            console.print(f"[red]{rb.reason_code}[/]: {rb.error}")
        console.print(f"run {rb.run_id}; evidence: {rb.evidence}")
    sys.exit(OK if rb.ok else DATA_FAILURE)


def _print_plan(rb) -> None:
    t = Table(title=f"rollback of {rb.target} to release {rb.release_id}" + (f" ({rb.tag})" if rb.tag else "")
              + f", published data as of {rb.as_of_date}", title_justify="left")
    for col in ("relation", "action", "why", "rows now", "rows restored"):
        t.add_column(col, overflow="fold", justify="right" if col.startswith("rows") else "left")
    for s in rb.steps:
        t.add_row(s.relation, s.action, s.why, "" if s.rows_live is None else f"{s.rows_live:,}", f"{s.rows_release:,}")
    console.print(t)
    if rb.untouched:
        console.print(f"left as they are (published after the release): {', '.join(rb.untouched)}")
