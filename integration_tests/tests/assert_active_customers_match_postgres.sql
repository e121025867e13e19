-- The active customers filtered inside PostgreSQL (source meta.pg_query) are
-- exactly the customers read through the attach and flagged active in the
-- warehouse mart. Returns the customers found on one side only.
with pushed_down as (

    select customer_id from {{ ref('stg_active_customers') }}

),

flagged as (

    select customer_id from {{ ref('dim_customers') }} where is_active

)

select
    coalesce(pushed_down.customer_id, flagged.customer_id) as customer_id,
    pushed_down.customer_id is not null as in_pg_query_source,
    flagged.customer_id is not null as active_in_dim_customers
from pushed_down
full outer join flagged
    on flagged.customer_id = pushed_down.customer_id
where pushed_down.customer_id is null
    or flagged.customer_id is null
