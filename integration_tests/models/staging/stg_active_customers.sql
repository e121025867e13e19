-- filtered on Postgres (source meta.pg_query): only active customers cross the network
select
    customer_id,
    email,
    country,
    created_at as signed_up_at
from {{ source('app', 'active_customers') }}
