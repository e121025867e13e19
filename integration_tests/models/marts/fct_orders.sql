{{ config(indexes=[
    {'columns': ['order_id'], 'unique': true},
    {'columns': ['customer_id']},
    {'columns': ['order_date']},
]) }}

select
    order_id,
    customer_id,
    status,
    is_revenue,
    ordered_at,
    order_date,
    line_count,
    units,
    order_total,
    updated_at
from {{ ref('int_order_totals') }}
