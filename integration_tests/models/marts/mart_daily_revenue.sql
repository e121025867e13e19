{{ config(indexes=[{'columns': ['order_date'], 'unique': true}]) }}

with daily_orders as (

    select
        order_date,
        count(*) as order_count,
        count(distinct customer_id) as customer_count,
        sum(units) as units,
        sum(order_total)::decimal(18, 2) as revenue
    from {{ ref('int_order_totals') }}
    where is_revenue
    group by order_date

)

select
    coalesce(daily_orders.order_date, events.event_date) as order_date,
    coalesce(daily_orders.order_count, 0) as order_count,
    coalesce(daily_orders.customer_count, 0) as customer_count,
    coalesce(daily_orders.units, 0) as units,
    coalesce(daily_orders.revenue, 0)::decimal(18, 2) as revenue,
    (coalesce(daily_orders.revenue, 0) / nullif(daily_orders.order_count, 0))::decimal(18, 2) as average_order_value,
    coalesce(events.page_views, 0) as page_views,
    coalesce(events.add_to_carts, 0) as add_to_carts,
    coalesce(events.checkouts, 0) as checkouts,
    coalesce(events.visitors, 0) as visitors
from daily_orders
full outer join {{ ref('int_daily_events') }} as events
    on events.event_date = daily_orders.order_date
