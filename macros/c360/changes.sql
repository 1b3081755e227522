{#- The contact rows a 360 state model adds up, each signed and tagged with the date its windows end on
    (`ref_date`): a row contributes sign x counted to every window [ref_date - n + 1, ref_date] holding its
    contact_date. A state is then its previous snapshot plus the sum of these rows.
    Full (no previous snapshot): every contact, +1 as of D.
    Fast (from snapshot P, see c360_refresh_plan):
      - contacts that changed in (P, D] (new, or a new status version): +1 with their status now, as of D;
      - of those, the ones that existed at P (restated): -1 with their status as of P (latest version
        loaded up to P), as of P — is_restated = 1;
      - unchanged contacts whose date enters a window (P, D] or leaves one ([P-29, D-30], [P-89, D-90]):
        +1 as of D and -1 as of P.
    Every other contact contributes the same to P and D and is not read. -#}
{% macro c360_contact_changes(plan) -%}
    {%- set d = plan.as_of -%}
    {%- set p = plan.prev -%}
    {%- if not plan.fast -%}
        select
            customer_hk,
            flowchart_hk,
            campaign_hk,
            channel,
            is_control,
            contact_date,
            contact_date_time,
            coalesce(counts_as_contact, 0) as counted,
            1 as sign,
            0 as is_restated,
            {{ d }} as ref_date
        from {{ ref('ifl_contact') }}
    {%- else -%}
        select
            changed.customer_hk,
            changed.flowchart_hk,
            changed.campaign_hk,
            changed.channel,
            changed.is_control,
            changed.contact_date,
            changed.contact_date_time,
            coalesce(changed.counts_as_contact, 0) as counted,
            1 as sign,
            0 as is_restated,
            {{ d }} as ref_date
        from {{ ref('ifl_contact') }} as changed
        where changed.last_change_date > {{ p }} and changed.last_change_date <= {{ d }}
        union all
        select
            restated.customer_hk,
            restated.flowchart_hk,
            restated.campaign_hk,
            restated.channel,
            restated.is_control,
            restated.contact_date,
            restated.contact_date_time,
            coalesce(old_map.counts_as_contact, 0) as counted,
            -1 as sign,
            1 as is_restated,
            {{ p }} as ref_date
        from {{ ref('ifl_contact') }} as restated
        left join (
            select
                versions.contact_hk,
                versions.contact_status_id,
                row_number() over (
                    partition by versions.contact_hk
                    order by versions.effective_from desc, versions.load_dts desc, versions.load_id desc
                ) as version_rank
            from {{ ref('s_contact_status') }} as versions
            where
                versions.business_date <= {{ p }}
                and versions.contact_hk in (
                    select touched.contact_hk from {{ ref('ifl_contact') }} as touched
                    where
                        touched.last_change_date > {{ p }} and touched.last_change_date <= {{ d }}
                        and touched.business_date <= {{ p }}
                )
        ) as old_status
            on restated.contact_hk = old_status.contact_hk and old_status.version_rank = 1
        left join {{ ref('map_contact_status') }} as old_map
            on old_status.contact_status_id = old_map.contact_status_id
        where
            restated.last_change_date > {{ p }} and restated.last_change_date <= {{ d }}
            and restated.business_date <= {{ p }}
        union all
        select
            moved.customer_hk,
            moved.flowchart_hk,
            moved.campaign_hk,
            moved.channel,
            moved.is_control,
            moved.contact_date,
            moved.contact_date_time,
            coalesce(moved.counts_as_contact, 0) as counted,
            sides.sign,
            0 as is_restated,
            case when sides.sign = 1 then {{ d }} else {{ p }} end as ref_date
        from {{ ref('ifl_contact') }} as moved
        cross join (select 1 as sign union all select -1 as sign) as sides
        where
            moved.last_change_date <= {{ p }}
            and {{ cdm.c360_window_edges('moved.contact_date', p, d) }}
    {%- endif -%}
{%- endmacro %}


{#- The response rows a 360 state model adds up, like c360_contact_changes. A response's attributes (date,
    type, revenue) change when it is delivered again with other values (ifl_response.last_change_date).
    Full: every response, +1 as of D. Fast (from snapshot P):
      - responses that changed in (P, D] (new, or delivered again): +1 with their attributes now, as of D;
      - of those, the ones that existed at P (delivered again): -1 with their attributes as of P (latest
        version loaded up to P; the link's first delivery is the oldest), as of P — is_restated = 1;
      - unchanged responses whose date enters or leaves a window: +1 as of D and -1 as of P. -#}
{% macro c360_response_changes(plan) -%}
    {%- set d = plan.as_of -%}
    {%- set p = plan.prev -%}
    {%- set attributes = ['response_date_time', 'response_type_id', 'revenue'] -%}
    {%- set columns -%}
        customer_hk,
        flowchart_hk,
        campaign_hk,
        is_control,
        response_hk
    {%- endset -%}
    {%- set current -%}
        response_date,
        response_date_time,
        response_type_name,
        counts_as_response,
        revenue
    {%- endset -%}
    {%- if not plan.fast -%}
        select
            {{ columns }},
            {{ current }},
            1 as sign,
            0 as is_restated,
            {{ d }} as ref_date
        from {{ ref('ifl_response') }}
    {%- else -%}
        select
            {{ columns }},
            {{ current }},
            1 as sign,
            0 as is_restated,
            {{ d }} as ref_date
        from {{ ref('ifl_response') }}
        where last_change_date > {{ p }} and last_change_date <= {{ d }}
        union all
        select
            restated.customer_hk,
            restated.flowchart_hk,
            restated.campaign_hk,
            restated.is_control,
            restated.response_hk,
            cast(old_details.response_date_time as date) as response_date,
            old_details.response_date_time,
            old_map.response_type_name,
            old_map.counts_as_response,
            coalesce(old_details.revenue, 0) as revenue,
            -1 as sign,
            1 as is_restated,
            {{ p }} as ref_date
        from {{ ref('ifl_response') }} as restated
        inner join (
            select
                versions.response_hk,
                {{ attributes | join(', ') }},
                row_number() over (
                    partition by versions.response_hk
                    order by versions.effective_from desc, versions.load_dts desc, versions.load_id desc,
                        versions.precedence desc
                ) as version_rank
            from (
                select
                    response_hk,
                    {{ attributes | join(', ') }},
                    effective_from,
                    load_dts,
                    load_id,
                    1 as precedence
                from {{ ref('s_response_details') }}
                where business_date <= {{ p }}
                union all
                select
                    response_hk,
                    {{ attributes | join(', ') }},
                    load_dts as effective_from,
                    load_dts,
                    load_id,
                    0 as precedence
                from {{ ref('l_response') }}
            ) as versions
            where versions.response_hk in (
                select touched.response_hk from {{ ref('ifl_response') }} as touched
                where
                    touched.last_change_date > {{ p }} and touched.last_change_date <= {{ d }}
                    and touched.business_date <= {{ p }}
            )
        ) as old_details
            on restated.response_hk = old_details.response_hk and old_details.version_rank = 1
        left join {{ ref('map_response_type') }} as old_map
            on old_details.response_type_id = old_map.response_type_id
        where
            restated.last_change_date > {{ p }} and restated.last_change_date <= {{ d }}
            and restated.business_date <= {{ p }}
        union all
        select
            {{ columns }},
            {{ current }},
            sides.sign,
            0 as is_restated,
            case when sides.sign = 1 then {{ d }} else {{ p }} end as ref_date
        from {{ ref('ifl_response') }}
        cross join (select 1 as sign union all select -1 as sign) as sides
        where
            last_change_date <= {{ p }}
            and {{ cdm.c360_window_edges('response_date', p, d) }}
    {%- endif -%}
{%- endmacro %}


{#- The dates whose window membership differs between as-of P and as-of D (P < D): entering (P, D],
    leaving the 30-day window [P-29, D-30] and the 90-day window [P-89, D-90]. -#}
{% macro c360_window_edges(column, p, d) -%}
    (
        ({{ column }} > {{ p }} and {{ column }} <= {{ d }})
        or ({{ column }} >= {{ p }} - 29 and {{ column }} <= {{ d }} - 30)
        or ({{ column }} >= {{ p }} - 89 and {{ column }} <= {{ d }} - 90)
    )
{%- endmacro %}


{#- Sum of `value` over the rows whose date lies in the `days`-day window ending on their ref_date
    (days=none: every date up to ref_date). -#}
{% macro c360_window_sum(value, date_column, days=none) -%}
    sum(case
        when {{ date_column }} <= ref_date
            {%- if days is not none %} and {{ date_column }} >= ref_date - {{ days - 1 }}{% endif %}
            then sign * {{ value }}
        else 0
    end)
{%- endmacro %}
