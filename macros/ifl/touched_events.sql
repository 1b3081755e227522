{#- The CTEs an incremental interface fact (ifl_contact, ifl_response) starts from: the events (link rows) a
    run must rewrite and the versions to rank for them. Emits, each followed by a comma:
      delivered        the link rows the load window delivered (every link row on a first build);
      window_versions  the satellite's versions of the window (every version on a first build);
      touched          the delivered link rows and, incrementally, those of events first delivered on
                       another date that the window restated (a new version; usually none) — read from the
                       link itself: a second reference to one import CTE would make DuckDB materialise the
                       whole link history (9 s at 75M contacts);
      previous         (incremental only) what the table holds for the touched events: a rerun's delivered
                       events (dated in the window) and the restated ones. -#}
{% macro ifl_touched_events(link, versions, hk) -%}
    delivered as (
        select * from {{ ref(link) }}
        {%- if is_incremental() %}
            where {{ cdm.batch_filter('business_date') }}
        {%- endif %}
    ),

    {%- if is_incremental() %}

        window_versions as (
            select * from {{ ref(versions) }}
            where {{ cdm.batch_filter('business_date') }}
        ),

        restated as (
            select {{ hk }} from window_versions
            except
            select {{ hk }} from delivered
        ),

        restated_events as (
            select * from {{ ref(link) }}
            where {{ hk }} in (select restated.{{ hk }} from restated)
        ),

        touched as (
            select * from delivered
            union all
            select * from restated_events
        ),

        previous as (
            select * from {{ this }}
            where {{ cdm.batch_filter('business_date') }}
            union all
            select * from {{ this }}
            where {{ hk }} in (select restated.{{ hk }} from restated)
        ),

    {%- else %}

        window_versions as (
            select * from {{ ref(versions) }}
            where {{ hk }} <> {{ cdm.ghost_key() }}
        ),

        touched as (
            select * from delivered
        ),

    {%- endif %}
{%- endmacro %}
