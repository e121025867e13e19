-- Revenue, orders and units per UTC day in the warehouse mart must equal the
-- same aggregate computed inside PostgreSQL on the app database, exactly.
-- (The remote sum is cast to numeric(18, 2) in Postgres: unconstrained numeric
-- would come back as DOUBLE.) Returns the days that differ.
with expected as (

    select *
    from postgres_query('app', '
        select (o.created_at at time zone ''UTC'')::date as order_date,
               count(distinct o.order_id) as order_count,
               sum(i.quantity)::bigint as units,
               sum(i.quantity * i.unit_price)::numeric(18, 2) as revenue
        from public.orders o
        join public.order_items i on i.order_id = o.order_id
        where o.status not in (''cancelled'', ''returned'')
        group by 1
    ')

),

actual as (

    select order_date, order_count, units, revenue
    from {{ ref('mart_daily_revenue') }}
    where order_count > 0

)

select
    coalesce(expected.order_date, actual.order_date) as order_date,
    expected.order_count as expected_order_count,
    actual.order_count as actual_order_count,
    expected.units as expected_units,
    actual.units as actual_units,
    expected.revenue as expected_revenue,
    actual.revenue as actual_revenue
from expected
full outer join actual
    on actual.order_date = expected.order_date
where expected.order_date is null
    or actual.order_date is null
    or expected.order_count <> actual.order_count
    or expected.units <> actual.units
    or expected.revenue <> actual.revenue
