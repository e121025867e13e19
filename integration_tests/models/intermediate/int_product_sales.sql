-- units and revenue per product over revenue orders
select
    items.product_id,
    count(distinct items.order_id) as order_count,
    sum(items.quantity) as units_sold,
    sum(items.line_amount)::decimal(18, 2) as revenue
from {{ ref('stg_order_items') }} as items
inner join {{ ref('stg_orders') }} as orders
    on orders.order_id = items.order_id
where orders.is_revenue
group by items.product_id
