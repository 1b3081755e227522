"""CDM warehouse operations package behind the `dq` CLI."""

import warnings

# The Snowflake connector (imported by the snowflake target, dbt-snowflake, and GX's dialect loading) vendors
# an old `requests` that warns it does not know urllib3 2.x: harmless, and it would print on every dq command
# that touches the connector. Registered here, before anything in this package can import the connector.
warnings.filterwarnings("ignore", message=r"urllib3 .* doesn't match a supported version")
