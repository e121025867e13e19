-- Total revenue must be the same, to the cent, in every mart that carries it
-- and in PostgreSQL's own aggregate over the app database: the per-order sums
-- pushed down to Postgres (fct_orders, dim_customers, mart_daily_revenue) and
-- the per-line amounts read through the attach (mart_product_sales).
-- Returns one row per mismatching figure.
with postgres_total as (

    select revenue
    from postgres_query('app', '
        select sum(i.quantity * i.unit_price)::numeric(18, 2) as revenue
        from public.orders o
        join public.order_items i on i.order_id = o.order_id
        where o.status not in (''cancelled'', ''returned'')
    ')

),

mart_totals as (

    select 'fct_orders' as mart, sum(order_total) as revenue
    from {{ ref('fct_orders') }}
    where is_revenue
    union all
    select 'dim_customers', sum(lifetime_revenue) from {{ ref('dim_customers') }}
    union all
    select 'mart_daily_revenue', sum(revenue) from {{ ref('mart_daily_revenue') }}
    union all
    select 'mart_product_sales', sum(revenue) from {{ ref('mart_product_sales') }}

)

select
    mart_totals.mart,
    mart_totals.revenue as mart_revenue,
    postgres_total.revenue as postgres_revenue
from mart_totals
cross join postgres_total
where mart_totals.revenue is distinct from postgres_total.revenue
