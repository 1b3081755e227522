{#- Every source code of a column is mapped: `mapped_by` is the column the mapping seed fills in, so a
    non-null code with a null `mapped_by` has no row in `mapping`. Returns one row per unmapped code.
    Under `dbt build` / `dbt test` a failure raises an error that names the codes and the fix, with
    reason code MAPPING_MISSING (the test's meta), instead of dbt's bare "Got N results". -#}
{% test code_mapped(model, column_name, mapped_by, mapping) %}
    {%- set unmapped_sql -%}
        select {{ column_name }} as unmapped_code, count(*) as rows_affected
        from {{ model }}
        where {{ column_name }} is not null and {{ mapped_by }} is null
        group by {{ column_name }}
    {%- endset -%}
    {%- if execute and flags.WHICH in ('build', 'test') -%}
        {%- set found = run_query(unmapped_sql ~ ' order by 1 limit 20') -%}
        {%- if found.rows | length > 0 -%}
            {%- set codes = [] -%}
            {%- for r in found.rows -%}
                {%- do codes.append(r[0] ~ ' (' ~ r[1] ~ ' rows)') -%}
            {%- endfor -%}
            {{ exceptions.raise_compiler_error(
                'MAPPING_MISSING: ' ~ model.identifier ~ '.' ~ column_name ~ ' has codes with no mapping in seed '
                ~ mapping ~ ': ' ~ codes | join(', ')
                ~ '. Add them to seeds/' ~ mapping ~ '.csv, run `dbt seed --select ' ~ mapping
                ~ '`, then rebuild the interface facts of the loaded dates with it: `dq build --from <first date> '
                ~ '--to <last date> --select ifl+ --full-refresh` (runbooks/05-ifl-360-failure.md, A).') }}
        {%- endif -%}
    {%- endif %}
    {{ unmapped_sql }}
{% endtest %}
