{#--
  Revenue per UTC day and product over revenue orders, loaded incrementally:
  each run re-does the day before the last loaded one (lookback=1) up to the end
  of today, one DELETE + INSERT transaction per day that holds rows. The window
  bounds are literals in the WHERE clauses below, so DuckDB pushes them into the
  Postgres scans of `orders` and `order_items`: only the window's rows cross the
  network.
--#}
{{ config(
    materialized='pg_incremental_by_time',
    database='warehouse',
    event_time='order_date',
    batch_size='day',
    lookback=1,
    indexes=[{'columns': ['order_date', 'product_id'], 'unique': true}],
) }}

with orders as (

    select
        order_id,
        customer_id,
        timezone('UTC', created_at)::date as order_date
    from {{ source('app', 'orders') }}
    where created_at >= {{ pg_window_start('timestamptz') }}
        and created_at < {{ pg_window_end('timestamptz') }}
        and status not in ('cancelled', 'returned')

),

items as (

    -- an order's lines carry the order's created_at
    select
        order_id,
        product_id,
        quantity,
        quantity * unit_price as line_amount
    from {{ source('app', 'order_items') }}
    where created_at >= {{ pg_window_start('timestamptz') }}
        and created_at < {{ pg_window_end('timestamptz') }}

)

select
    orders.order_date,
    items.product_id,
    count(distinct orders.order_id) as order_count,
    count(distinct orders.customer_id) as customer_count,
    sum(items.quantity)::bigint as units,
    sum(items.line_amount)::decimal(18, 2) as revenue
from orders
inner join items
    on items.order_id = orders.order_id
group by orders.order_date, items.product_id
