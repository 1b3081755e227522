{#- Who may read the published tables: DQ_PUBLISH_READERS, a comma-separated list of roles (PostgreSQL,
    Snowflake). dbt applies grants after every build, and every build of a publish table replaces it (a new
    table renamed in, the old one dropped), so grants given by hand are lost at the next build; these are
    not. None on DuckDB (no roles). Use in a model's config: `config(grants=cdm.publish_grants())`. -#}
{% macro publish_grants() -%}
    {%- set roles = [] -%}
    {%- for role in env_var('DQ_PUBLISH_READERS', '').split(',') if role.strip() -%}
        {%- do roles.append(role.strip()) -%}
    {%- endfor -%}
    {{ return({'select': roles} if roles and target.type != 'duckdb' else {}) }}
{%- endmacro %}
