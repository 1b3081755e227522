{#- Pre-hook of ifl_contact (incremental runs only): delete the rows the run is about to write again —
    `delivered`: contacts whose link row belongs to the load window (found by business_date, so only the
    window's part of the table is read); `restated`: contacts with a status version in the window whose
    link row belongs to another date (usually none). A first build or --full-refresh does nothing here. -#}
{% macro ifl_contact_delete_touched(kind) -%}
    {%- if is_incremental() and kind == 'delivered' -%}
        delete from {{ this }}
        where {{ cdm.batch_filter('business_date') }}
    {%- elif is_incremental() and kind == 'restated' -%}
        delete from {{ this }}
        where contact_hk in (
            select versions.contact_hk from {{ ref('s_contact_status') }} as versions
            where {{ cdm.batch_filter('versions.business_date') }}
            except
            select links.contact_hk from {{ ref('l_contact') }} as links
            where {{ cdm.batch_filter('links.business_date') }}
        )
    {%- else -%}
        select 1 as nothing_to_delete
    {%- endif -%}
{%- endmacro %}
