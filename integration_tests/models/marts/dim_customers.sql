{{ config(indexes=[{'columns': ['customer_id'], 'unique': true}]) }}

select
    customers.customer_id,
    customers.email,
    customers.full_name,
    customers.country,
    customers.is_active,
    customers.signed_up_at,
    orders.first_ordered_at,
    orders.last_ordered_at,
    coalesce(orders.order_count, 0) as order_count,
    coalesce(orders.revenue_order_count, 0) as revenue_order_count,
    coalesce(orders.lifetime_revenue, 0)::decimal(18, 2) as lifetime_revenue
from {{ ref('stg_customers') }} as customers
left join {{ ref('int_customer_orders') }} as orders
    on orders.customer_id = customers.customer_id
