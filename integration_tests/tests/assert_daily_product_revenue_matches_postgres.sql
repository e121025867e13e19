-- The incremental fact (loaded day by day, lookback=1) must equal the same
-- aggregate computed inside PostgreSQL on the app database over all orders,
-- exactly, after every build. (The remote sums are cast to numeric(18, 2) and
-- bigint in Postgres: unconstrained numeric would come back as DOUBLE.)
-- Returns the (day, product) pairs that differ or appear more than once.
with expected as (

    select *
    from postgres_query('app', '
        select (o.created_at at time zone ''UTC'')::date as order_date,
               i.product_id,
               count(distinct o.order_id) as order_count,
               count(distinct o.customer_id) as customer_count,
               sum(i.quantity)::bigint as units,
               sum(i.quantity * i.unit_price)::numeric(18, 2) as revenue
        from public.orders o
        join public.order_items i on i.order_id = o.order_id
        where o.status not in (''cancelled'', ''returned'')
        group by 1, 2
    ')

),

actual as (

    select order_date, product_id, order_count, customer_count, units, revenue
    from {{ ref('fct_daily_product_revenue') }}

),

duplicates as (

    select order_date, product_id
    from actual
    group by order_date, product_id
    having count(*) > 1

)

select
    coalesce(expected.order_date, actual.order_date) as order_date,
    coalesce(expected.product_id, actual.product_id) as product_id,
    'differs' as problem,
    expected.order_count as expected_order_count,
    actual.order_count as actual_order_count,
    expected.units as expected_units,
    actual.units as actual_units,
    expected.revenue as expected_revenue,
    actual.revenue as actual_revenue
from expected
full outer join actual
    on actual.order_date = expected.order_date
    and actual.product_id = expected.product_id
where expected.order_date is null
    or actual.order_date is null
    or expected.order_count <> actual.order_count
    or expected.customer_count <> actual.customer_count
    or expected.units <> actual.units
    or expected.revenue <> actual.revenue
union all
select order_date, product_id, 'duplicate', null, null, null, null, null, null
from duplicates
