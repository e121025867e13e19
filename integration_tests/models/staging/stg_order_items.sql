select
    order_item_id,
    order_id,
    line_number,
    product_id,
    quantity,
    unit_price,
    (quantity * unit_price)::decimal(18, 2) as line_amount
from {{ source('app', 'order_items') }}
