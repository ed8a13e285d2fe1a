{#- The labels of every code a mart shows (contract §4: "every code column has Vietnamese and
    English label columns beside it"), decided once here. label_columns(column, code_set) writes
    <column>_label_vi and <column>_label_en beside a code column; tests/test_marts.py checks that
    every code a mart holds has its labels. -#}
{% macro code_labels() -%}
    {{ return({
        'period_kind': {
            'annual': ('Báo cáo năm', 'Annual report'),
            'half_year': ('Báo cáo 6 tháng', 'Half-year report'),
            'mid_term': ('Sơ kết giữa nhiệm kỳ', 'Mid-term review'),
            'end_of_term': ('Tổng kết nhiệm kỳ', 'End-of-term review'),
        },
        'indicator_status': {
            'vuot': ('Vượt chỉ tiêu', 'Exceeded'),
            'dat': ('Đạt', 'Met'),
            'chua_dat': ('Chưa đạt', 'Not met'),
            'chua_bao_cao': ('Chưa báo cáo', 'Not reported'),
        },
        'cluster_role': {
            'truong': ('Cụm trưởng', 'Cluster leader'),
            'pho': ('Cụm phó', 'Cluster deputy'),
        },
        'cluster_source': {
            'sourced': ('Có nguồn công bố', 'Publicly sourced'),
            'placeholder': ('Tạm suy ra', 'Placeholder'),
        },
        'submission_status': {
            'not_due': ('Chưa đến hạn', 'Not yet due'),
            'missing': ('Chưa nộp', 'Missing'),
            'rejected': ('Bị từ chối', 'Rejected'),
            'accepted': ('Đã nhận', 'Accepted'),
            'accepted_with_warnings': ('Đã nhận, có cảnh báo', 'Accepted with warnings'),
            'superseded': ('Đã được thay thế', 'Superseded'),
        },
        'direction': {
            'higher': ('Càng cao càng tốt', 'Higher is better'),
            'lower': ('Càng thấp càng tốt', 'Lower is better'),
        },
        'indicator_kind': {
            'term': ('Chỉ tiêu nhiệm kỳ', 'Term indicator'),
            'emulation': ('Tiêu chí thi đua', 'Emulation criterion'),
            'poverty': ('Chỉ số giảm nghèo', 'Poverty-support measure'),
        },
        'province_type': {
            'thanh_pho': ('Thành phố trực thuộc Trung ương', 'Centrally-run city'),
            'tinh': ('Tỉnh', 'Province'),
        },
        'province_code_set': {
            '2024': ('63 tỉnh, thành trước 1/7/2025', 'The 63 provinces before 1 July 2025'),
            '2025': ('34 tỉnh, thành từ 1/7/2025', 'The 34 provinces from 1 July 2025'),
        },
        'grouping': {
            'region': ('Vùng kinh tế - xã hội', 'Socio-economic region'),
            'cluster': ('Cụm thi đua', 'Emulation cluster'),
        },
        'reminder_stage': {
            'T-14': ('Nhắc trước hạn 14 ngày', '14 days before the due date'),
            'T-3': ('Nhắc trước hạn 3 ngày', '3 days before the due date'),
            'T+1': ('Nhắc sau hạn', 'After the due date'),
        },
        'severity': {
            'error': ('Lỗi', 'Error'),
            'warning': ('Cảnh báo', 'Warning'),
        },
    }) }}
{%- endmacro %}

{#- <column>_label_vi and <column>_label_en of a code column; `relation` qualifies the column. -#}
{% macro label_columns(column, code_set, relation=none) -%}
    {%- set labels = code_labels()[code_set] -%}
    {%- set source = (relation ~ '.' if relation else '') ~ column -%}
    {%- for language in ['vi', 'en'] -%}
        case {{ source }}
            {%- for code, texts in labels.items() %}
            when '{{ code }}' then '{{ texts[0 if language == 'vi' else 1] }}'
            {%- endfor %}
        end::text as {{ column }}_label_{{ language }}{{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
