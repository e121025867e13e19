select
    customer_id,
    email,
    full_name,
    country,
    active as is_active,
    created_at as signed_up_at,
    updated_at
from {{ source('app', 'customers') }}
