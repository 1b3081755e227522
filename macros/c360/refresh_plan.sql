{#- How a 360 state model refreshes: from its previous state plus the changes since (fast), or from all
    the interface facts (full). Most state models (models/c360/state/) keep one snapshot per as-of date D
    (`as_of_date`), at most two: D and the one it was built from, so a rerun of D starts again from the
    same place and stays idempotent. An `in_place` state (campaign_customer_state, too big to copy each
    day) keeps one row per key, `as_of_date` = when the row last changed; it is fast only when moving
    forward (its latest as_of_date P < D), so a rerun of D rebuilds it from all facts.

    Fast when ALL of these hold, full otherwise (the reason is logged):
      - the model is incremental and an exact state P < D exists (the latest such);
      - D is at or after every loaded date (no contact and no response changed after D), so the
        facts' current statuses and attributes are those as of D — an out-of-order or backfilled date is full;
      - nothing in the facts dated P or earlier was rewritten after P's state was built (a late load,
        an interface-only rebuild or a --full-refresh of the facts makes the state stale).
    A state is exact when D was at or after every loaded date when it was built. -#}
{% macro c360_refresh_plan(in_place=false) -%}
    {%- set plan = {'fast': false, 'prev': none, 'as_of': cdm.as_of_date(), 'reason': 'first build'} -%}
    {%- if execute and this is not none and is_incremental() -%}
        {%- set as_of = run_query('select ' ~ cdm.as_of_date()).columns[0].values()[0] -%}
        {%- set d = "cast('" ~ as_of ~ "' as date)" -%}
        {%- do plan.update({'as_of': d}) -%}
        {%- set found -%}
            {%- if in_place %}
                select max(as_of_date), max(built_at), min(is_exact)
                from {{ this }}
                where as_of_date = (select max(as_of_date) from {{ this }})
            {%- else %}
                select max(as_of_date), max(built_at), 1
                from {{ this }}
                where
                    as_of_date = (select max(as_of_date) from {{ this }} where as_of_date < {{ d }} and is_exact = 1)
            {%- endif %}
        {%- endset -%}
        {%- set row = run_query(found).rows[0] -%}
        {%- if row[0] is none -%}
            {%- do plan.update({'reason': 'no exact snapshot before ' ~ as_of}) -%}
        {%- elif in_place and (row[0] | string) >= (as_of | string) -%}
            {%- do plan.update({'reason': 'already as of ' ~ row[0] ~ ' (a rerun or an earlier date)'}) -%}
        {%- elif row[2] != 1 -%}
            {%- do plan.update({'reason': 'the state as of ' ~ row[0] ~ ' is not exact'}) -%}
        {%- else -%}
            {%- set p = "cast('" ~ row[0] ~ "' as date)" -%}
            {%- set built = "cast('" ~ row[1] ~ "' as timestamp)" -%}
            {%- set checks -%}
                select
                    (select count(*) from {{ ref('ifl_contact') }} where last_change_date > {{ d }}),
                    (select count(*) from {{ ref('ifl_response') }} where last_change_date > {{ d }}),
                    (select count(*) from {{ ref('ifl_contact') }}
                        where _loaded_at > {{ built }} and last_change_date <= {{ p }}),
                    (select count(*) from {{ ref('ifl_response') }}
                        where _loaded_at > {{ built }} and last_change_date <= {{ p }})
            {%- endset -%}
            {%- set c = run_query(checks).rows[0] -%}
            {%- if c[0] + c[1] > 0 -%}
                {%- do plan.update({'reason': 'data after ' ~ as_of ~ ' is loaded (out-of-order or backfill)'}) -%}
            {%- elif c[2] + c[3] > 0 -%}
                {%- do plan.update({'reason': 'facts dated ' ~ row[0] ~ ' or earlier changed after its snapshot'}) -%}
            {%- else -%}
                {%- do plan.update({'fast': true, 'prev': p, 'reason': 'from the snapshot of ' ~ row[0]}) -%}
            {%- endif -%}
        {%- endif -%}
        {{ log(this.identifier ~ ' as of ' ~ as_of ~ ': ' ~ ('fast, ' if plan.fast else 'full, ') ~ plan.reason) }}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}


{#- The snapshot bookkeeping columns every state model ends with: refreshed_from (the snapshot a fast
    refresh started from; NULL when built from all facts), is_exact, built_at. -#}
{% macro c360_snapshot_columns(plan) -%}
    {%- if plan.fast -%}
        {{ plan.prev }} as refreshed_from,
        1 as is_exact,
    {%- else -%}
        cast(null as date) as refreshed_from,
        case
            when
                coalesce((select max(last_change_date) from {{ ref('ifl_contact') }}), {{ plan.as_of }}) <= {{ plan.as_of }}
                and coalesce((select max(last_change_date) from {{ ref('ifl_response') }}), {{ plan.as_of }})
                <= {{ plan.as_of }}
                then 1
            else 0
        end as is_exact,
    {%- endif %}
    {{ cdm.run_timestamp() }} as built_at
{%- endmacro %}


{#- Post-hook of a state model: keep the snapshot just built and the exact one before it (what a rerun of
    this date starts from); drop later snapshots (built before this date's data changed) and older ones. -#}
{% macro c360_snapshot_retention() -%}
    delete from {{ this }}
    where
        as_of_date <> {{ cdm.as_of_date() }}
        and as_of_date <> coalesce((
            select max(kept.as_of_date) from {{ this }} as kept
            where kept.as_of_date < {{ cdm.as_of_date() }} and kept.is_exact = 1
        ), {{ cdm.as_of_date() }})
{%- endmacro %}


{#- The run's start as a SQL timestamp (microseconds): when a row was written by this invocation. -#}
{% macro run_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}


{#- Pre-hook of an in-place state: when this run rebuilds it from all facts, empty it first (the rebuild
    writes every pair as of D). A no-op otherwise. -#}
{% macro c360_in_place_reset() -%}
    {%- set plan = cdm.c360_refresh_plan(in_place=true) -%}
    {%- if execute and not plan.fast and adapter.get_relation(this.database, this.schema, this.identifier) -%}
        delete from {{ this }}
    {%- else -%}
        select 1 as nothing_to_reset
    {%- endif -%}
{%- endmacro %}
