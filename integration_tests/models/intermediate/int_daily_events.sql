-- clickstream funnel counts per UTC day
select
    event_date,
    count(*) filter (where event_type = 'page_view') as page_views,
    count(*) filter (where event_type = 'product_view') as product_views,
    count(*) filter (where event_type = 'add_to_cart') as add_to_carts,
    count(*) filter (where event_type = 'checkout') as checkouts,
    count(distinct customer_id) as visitors
from {{ ref('stg_events') }}
group by event_date
