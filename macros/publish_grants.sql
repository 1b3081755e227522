{#- Who may read the published tables: DQ_PUBLISH_READERS, a comma-separated list of roles (PostgreSQL,
    Snowflake). dbt applies grants after every build, and every build of a publish table replaces it (a new
    table renamed in, the old one dropped), so grants given by hand are lost at the next build; these are
    not. None on DuckDB (no roles). In every publish model: config(grants=cdm.publish_grants()); in ONE of them
    (pub_customer_360_v1) also post_hook=cdm.publish_schema_usage(): the roles' USAGE on the schema, without
    which a table grant cannot be used (one model only: PostgreSQL refuses concurrent grants on one schema,
    "tuple concurrently updated", and the schema is never replaced, so once per build is plenty). -#}
{% macro publish_readers() -%}
    {%- set roles = [] -%}
    {%- if target.type != 'duckdb' -%}
        {%- for role in env_var('DQ_PUBLISH_READERS', '').split(',') if role.strip() -%}
            {%- do roles.append(role.strip()) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(roles) }}
{%- endmacro %}

{% macro publish_grants() -%}
    {%- set roles = cdm.publish_readers() -%}
    {{ return({'select': roles} if roles else {}) }}
{%- endmacro %}

{% macro publish_schema_usage() -%}
    {%- set hooks = [] -%}
    {%- for role in cdm.publish_readers() -%}
        {%- do hooks.append('grant usage on schema {{ this.schema }} to '
                            ~ ('role ' if target.type == 'snowflake' else '') ~ role) -%}
    {%- endfor -%}
    {{ return(hooks) }}
{%- endmacro %}
