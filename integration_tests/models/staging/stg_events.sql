select
    event_id,
    customer_id,
    event_type,
    product_id,
    occurred_at,
    timezone('UTC', occurred_at)::date as event_date
from {{ source('app', 'events') }}
