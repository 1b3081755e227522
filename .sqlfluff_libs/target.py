"""What the jinja templater needs to render `target.*` in models and macros without a database."""

type = "duckdb"
name = "dev"
schema = "main"
