{#- persist_docs (dbt_project.yml, contract §4: every description a comment BI tools show) for the
    marts, in one statement per mart. Each mart's contract is enforced, so its YAML columns are
    exactly the table's (dbt compares them before writing it): the comments need no look at the
    catalog, where dbt's default asks PostgreSQL twice which columns exist (two queries per mart,
    each a macro context and a result table in dbt) and sends the table's and the columns'
    comments apart. The text is dbt's own (postgres__alter_relation_comment, the column comments
    of postgres__alter_column_comment). A model without an enforced contract keeps dbt's
    default. -#}
{% macro postgres__persist_docs(relation, model, for_relation, for_columns) -%}
    {%- if not model.config.contract.enforced -%}
        {{ return(default__persist_docs(relation, model, for_relation, for_columns)) }}
    {%- endif -%}
    {%- set statements = [] -%}
    {%- if for_relation and config.persist_relation_docs() and model.description -%}
        {%- do statements.append(alter_relation_comment(relation, model.description)) -%}
    {%- endif -%}
    {%- if for_columns and config.persist_column_docs() and model.columns -%}
        {%- for name, column in model.columns.items() -%}
            {%- do statements.append(
                "comment on column " ~ relation ~ "."
                ~ (adapter.quote(name) if column['quote'] else name)
                ~ " is " ~ postgres_escape_comment(column['description'])) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if statements -%}
        {%- do run_query(statements | join(";\n") ~ ";") -%}
    {%- endif -%}
{%- endmacro %}
