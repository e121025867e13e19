select
    order_id,
    customer_id,
    status,
    status not in ('cancelled', 'returned') as is_revenue,
    created_at as ordered_at,
    timezone('UTC', created_at)::date as order_date,
    updated_at
from {{ source('app', 'orders') }}
