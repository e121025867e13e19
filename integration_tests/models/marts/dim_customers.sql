{#--
  One row per customer, upserted by customer_id. `updated_at` is the latest
  change of the customer or of any of its orders, so a new or changed order
  re-sends its customer. Incremental runs send only the rows changed since the
  last run (`pg_target_max` renders the target's max(updated_at), computed in
  Postgres, as a literal): the COPY to Postgres and the ON CONFLICT grow with
  the change, not with the table.
--#}
{{ config(materialized='pg_upsert_by_key', unique_key='customer_id') }}

with customers as (

    select
        customers.customer_id,
        customers.email,
        customers.full_name,
        customers.country,
        customers.is_active,
        customers.signed_up_at,
        orders.first_ordered_at,
        orders.last_ordered_at,
        coalesce(orders.order_count, 0) as order_count,
        coalesce(orders.revenue_order_count, 0) as revenue_order_count,
        coalesce(orders.lifetime_revenue, 0)::decimal(18, 2) as lifetime_revenue,
        greatest(customers.updated_at, coalesce(orders.last_updated_at, customers.updated_at)) as updated_at
    from {{ ref('stg_customers') }} as customers
    left join {{ ref('int_customer_orders') }} as orders
        on orders.customer_id = customers.customer_id

)

select *
from customers
{% if is_incremental() %}
where updated_at > {{ pg_target_max('updated_at') }}
{% endif %}
