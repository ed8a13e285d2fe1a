{#- Row-level security of the marts (contract §6, issue 19). Run as a post-hook of every mart,
    inside the transaction that replaces the table, so the table is never readable without it.

    A mart with a province_code column gets two SELECT policies: bi_reader reads every row, and
    each member of bi_province (the logins `lhpn bi-role <code>` creates, named
    bi_province_<code>) reads the rows whose province_code or province_code_2025 is its code.
    A code of the 2025 map therefore reads its province in every period, the provinces it was
    formed from included; a code that ended on 1 July 2025 (never a province_code_2025) reads
    that old province only. The code comes from current_user, which a session cannot change.
    The owner (the build) bypasses row security; a mart without a province column has none.
    Which columns a mart has: its YAML's when its contract is enforced (every mart's), else the
    catalog's. -#}
{% macro province_row_security() -%}
    {%- if execute and model.config.materialized in ('table', 'incremental') -%}
        {%- set columns = (model.columns.keys() | list) if model.config.contract.enforced
                          else (adapter.get_columns_in_relation(this) | map(attribute='name')
                                | list) -%}
        {%- if 'province_code' in columns -%}
            {%- set own_code = "substring(current_user from '^" ~ var('bi_province_role_prefix')
                               ~ "(.+)$')" -%}
            alter table {{ this }} enable row level security;
            drop policy if exists bi_reader_reads_all on {{ this }};
            create policy bi_reader_reads_all on {{ this }}
                for select to bi_reader using (true);
            drop policy if exists bi_province_reads_own on {{ this }};
            create policy bi_province_reads_own on {{ this }}
                for select to bi_province
                using (province_code = {{ own_code }}
                    {%- if 'province_code_2025' in columns %}
                       or province_code_2025 = {{ own_code }}
                    {%- endif %})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
