{#- The current version of every parent in a satellite, as of the as-of date: its latest version by the
    source's change time (effective_from), then load time, then landing (load_id: a date landed again with
    a corrected value has a later load id), among the rows loaded up to that date.
    Ghost records excluded. Use as the body of an import CTE (the ref is not aliased: `dbt build --empty` wraps it):
        profile as ({{ cdm.current_version('s_customer_profile', 'customer_hk') }})
    `partition_by` extends the parent key for multi-active satellites (e.g. one score per model);
    `by_business_date` ranks by business date first, for a satellite whose rows are each valid for their
    business date (the ML scores: a date scored again later must not override a newer date). -#}
{% macro current_version(sat, parent_hk, partition_by=[], by_business_date=false) -%}
    {%- set keys = [parent_hk] + cdm.as_list(partition_by) -%}
    select versions.*
    from (
        select
            *,
            row_number() over (
                partition by {{ keys | join(', ') }}
                order by {% if by_business_date %}business_date desc, {% endif %}effective_from desc, load_dts desc, load_id desc
            ) as version_rank
        from {{ ref(sat) }}
        where {{ parent_hk }} <> {{ cdm.ghost_key() }}
            and business_date <= {{ cdm.as_of_date() }}
    ) as versions
    where versions.version_rank = 1
{%- endmacro %}
