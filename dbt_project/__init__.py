"""CDM warehouse operations package behind the `dq` CLI."""
