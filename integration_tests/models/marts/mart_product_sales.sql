{{ config(indexes=[{'columns': ['product_id'], 'unique': true}, {'columns': ['category']}]) }}

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
