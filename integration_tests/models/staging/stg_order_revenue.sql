-- aggregated on Postgres (source meta.pg_query): one row per order crosses the network
select
    order_id,
    revenue::decimal(18, 2) as order_total,
    line_count,
    units
from {{ source('app', 'order_revenue') }}
