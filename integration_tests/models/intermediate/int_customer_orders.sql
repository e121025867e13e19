-- lifetime order figures per customer (revenue orders only count towards revenue)
select
    customer_id,
    count(*) as order_count,
    count(*) filter (where is_revenue) as revenue_order_count,
    min(ordered_at) as first_ordered_at,
    max(ordered_at) as last_ordered_at,
    max(updated_at) as last_updated_at,
    coalesce(sum(order_total) filter (where is_revenue), 0)::decimal(18, 2) as lifetime_revenue
from {{ ref('int_order_totals') }}
group by customer_id
