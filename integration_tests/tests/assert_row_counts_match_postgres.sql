-- Every order, customer and product of the app database reaches its mart.
-- Counts are taken inside PostgreSQL. Returns the marts whose count differs.
with expected as (

    select *
    from postgres_query('app', '
        select (select count(*) from public.orders) as orders,
               (select count(*) from public.customers) as customers,
               (select count(*) from public.products) as products
    ')

)

select 'fct_orders' as mart, expected.orders as expected_rows, (select count(*) from {{ ref('fct_orders') }}) as actual_rows
from expected
where expected.orders <> (select count(*) from {{ ref('fct_orders') }})
union all
select 'dim_customers', expected.customers, (select count(*) from {{ ref('dim_customers') }})
from expected
where expected.customers <> (select count(*) from {{ ref('dim_customers') }})
union all
select 'mart_product_sales', expected.products, (select count(*) from {{ ref('mart_product_sales') }})
from expected
where expected.products <> (select count(*) from {{ ref('mart_product_sales') }})
