-- orders with the per-order revenue that PostgreSQL aggregated
select
    orders.order_id,
    orders.customer_id,
    orders.status,
    orders.is_revenue,
    orders.ordered_at,
    orders.order_date,
    orders.updated_at,
    coalesce(revenue.line_count, 0) as line_count,
    coalesce(revenue.units, 0) as units,
    coalesce(revenue.order_total, 0)::decimal(18, 2) as order_total
from {{ ref('stg_orders') }} as orders
left join {{ ref('stg_order_revenue') }} as revenue
    on revenue.order_id = orders.order_id
