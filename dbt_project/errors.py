"""The one place that maps outcomes to exit codes: 0 ok, 1 data or check failure, 2 usage/config/connection."""

from __future__ import annotations

import functools
import json
import sys

import click

from .generator import GeneratorError
from .ldz import IngestUsageError
from .ops import Transient
from .pgcluster import PostgresUnavailable
from .project import ConfigError
from .reason_codes import ReasonCode
from .registry import LockTimeout
from .warehouse import ConnectionFailed

OK, DATA_FAILURE, USAGE = 0, 1, 2

_USAGE_ERRORS = (ConfigError, IngestUsageError, GeneratorError)
# LockTimeout: another run holds the date; Transient: a failure that outlived its retries (ops.Runner)
_CONNECTION_ERRORS = (ConnectionFailed, PostgresUnavailable, LockTimeout, Transient)


def exit_code_for(exc: BaseException) -> tuple[int, ReasonCode | None]:
    """Exit code and reason code for an exception that escaped a command (None: not ours, re-raise)."""
    if isinstance(exc, _CONNECTION_ERRORS):
        return USAGE, getattr(exc, "reason", None) or ReasonCode.CONNECTIVITY
    if isinstance(exc, _USAGE_ERRORS):
        return USAGE, None
    raise exc


def fail(message: str, code: int, reason: ReasonCode | None, as_json: bool) -> None:
    """Report a failure the command cannot go on from and exit: the message on stderr and, with --json, one
    JSON document on stdout too ({"ok": false, "exit_code", "reason_code", "error"}), so a scheduler parsing
    stdout always gets one."""
    prefix = f"[{reason.value}] " if reason else ""
    hint = f" Next: {reason.action} ({reason.description})" if reason and code == USAGE else ""
    click.echo(f"error: {prefix}{message}{hint}", err=True)
    if as_json:
        click.echo(json.dumps({"ok": False, "exit_code": code, "reason_code": reason.value if reason else None,
                               "error": message}, indent=2))
    sys.exit(code)


def handle_errors(fn):
    """Turn known exceptions into a one-line message on stderr (and a JSON document under --json) and the
    right exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (*_USAGE_ERRORS, *_CONNECTION_ERRORS) as exc:
            code, reason = exit_code_for(exc)
            fail(str(exc), code, reason, bool(kwargs.get("as_json")))

    return wrapper
