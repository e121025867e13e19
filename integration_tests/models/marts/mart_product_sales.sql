{#-- written twice: to `warehouse` by its materialization (pg_full), then to the
     `replica` database by the post-hook (schema: generate_schema_name of the
     connection's `schema`, i.e. analytics_marts, see profiles.yml);
     tests/assert_replica_matches_warehouse.sql compares them --#}
{{ config(
    indexes=[{'columns': ['product_id'], 'unique': true}, {'columns': ['category']}],
    post_hook=["{{ pg_materialize(connection='replica', mode='full', indexes=[{'columns': ['product_id'], 'unique': true}]) }}"],
) }}

select
    products.product_id,
    products.sku,
    products.product_name,
    products.category,
    products.unit_price,
    coalesce(sales.order_count, 0) as order_count,
    coalesce(sales.units_sold, 0) as units_sold,
    coalesce(sales.revenue, 0)::decimal(18, 2) as revenue
from {{ ref('stg_products') }} as products
left join {{ ref('int_product_sales') }} as sales
    on sales.product_id = products.product_id
