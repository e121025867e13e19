select
    product_id,
    sku,
    name as product_name,
    category,
    unit_price
from {{ source('app', 'products') }}
