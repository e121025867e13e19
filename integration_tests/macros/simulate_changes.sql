{#--
  New source data for the two-build demo (README.md):

    dbt run-operation integration_simulate_changes --project-dir integration_tests --profiles-dir integration_tests

  Each call is one "round" of changes in the `app` database, deterministic for
  the data it finds (values are hashes of ids and the round number, times are
  placed relative to the data already there), committed atomically:
    - 5 new customers;
    - about 0.2% of the existing customers change country and active flag;
    - 50 new orders (with 1 to 4 lines each) placed during the last 24 hours
      of order data: late-arriving orders inside pg_incremental_by_time's
      lookback;
    - about 5% of the orders of those last 24 hours move on one status
      (placed -> paid -> shipped -> delivered -> returned);
    - 200 new clickstream events during the last 24 hours of events.
  Every changed or new customer and order gets updated_at = the latest
  updated_at so far + 1 minute, so the next build's `updated_at > max` picks
  them up (dim_customers) and nothing older. The round number is kept as the
  comment of public.customers (regenerating the data resets it).
  Changes stay inside the last day on purpose: an incremental model only
  re-reads its lookback, so an edit to an older order would not reach
  fct_daily_product_revenue before a --full-refresh.
--#}

{#-- integration_changes_sql(round: int) -> SQL
     One round of changes (see above), run as one pg_execute call: atomic. --#}
{% macro integration_changes_sql(round) -%}
{%- set h = integration_hash -%}
create temporary table change_anchor on commit drop as
select
  (select max(created_at) from public.orders) as latest_order,
  (select max(occurred_at) from public.events) as latest_event,
  greatest((select max(updated_at) from public.orders),
           (select max(updated_at) from public.customers)) + interval '1 minute' as stamp,
  (select max(order_id) from public.orders) as last_order_id,
  (select max(event_id) from public.events) as last_event_id,
  (select max(customer_id) from public.customers) as last_customer_id,
  (select max(product_id) from public.products) as n_products;

{#-- existing customers first, so that the new ones are not among them --#}
update public.customers c
set country = {{ integration_pick(['US', 'DE', 'FR', 'GB', 'NL', 'ES', 'CA', 'BR'], 'c.customer_id', 100 + round) }},
    active = not c.active,
    updated_at = a.stamp
from change_anchor a
where {{ h('c.customer_id', 200 + round) }} % 1000 < 2;

insert into public.customers
select
  id,
  'customer' || id || '@example.com',
  {{ integration_pick(['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara'], 'id', 1) }}
    || ' ' || {{ integration_pick(['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov'], 'id', 2) }},
  {{ integration_pick(['US', 'DE', 'FR', 'GB', 'NL', 'ES', 'CA', 'BR'], 'id', 3) }},
  true,
  a.stamp,
  a.stamp
from change_anchor a
cross join lateral (select a.last_customer_id + g as id from generate_series(1, 5) as g) n;

{#-- recent orders move on one status (before the new orders are added) --#}
update public.orders o
set status = case o.status
      when 'placed' then 'paid'
      when 'paid' then 'shipped'
      when 'shipped' then 'delivered'
      else 'returned'
    end,
    updated_at = a.stamp
from change_anchor a
where o.created_at > a.latest_order - interval '1 day'
  and o.status in ('placed', 'paid', 'shipped', 'delivered')
  and {{ h('o.order_id', 300 + round) }} % 20 = 0;

insert into public.orders
select
  id,
  1 + {{ h('id', 21) }} % (a.last_customer_id + 5),
  {{ integration_pick(['placed', 'paid', 'paid', 'shipped', 'delivered', 'delivered', 'delivered', 'cancelled'], 'id', 22) }},
  a.latest_order - ({{ h('id', 24) }} % 86400) * interval '1 second',
  a.stamp
from change_anchor a
cross join lateral (select a.last_order_id + g as id from generate_series(1, 50) as g) n;

insert into public.order_items
select
  o.order_id * 10 + l.line_number,
  o.order_id,
  l.line_number,
  p.product_id,
  case when {{ h('o.order_id * 10 + l.line_number', 33) }} % 10 < 7 then 1 else 2 + {{ h('o.order_id * 10 + l.line_number', 34) }} % 3 end,
  p.unit_price,
  o.created_at
from public.orders o
cross join change_anchor a
cross join lateral generate_series(1, 1 + {{ h('o.order_id', 31) }} % 4) as l(line_number)
join public.products p on p.product_id = 1 + {{ h('o.order_id * 10 + l.line_number', 32) }} % a.n_products
where o.order_id > a.last_order_id;

insert into public.events
select
  id,
  1 + {{ h('id', 41) }} % (a.last_customer_id + 5),
  event_type,
  case when event_type <> 'page_view' then 1 + {{ h('id', 43) }} % a.n_products end,
  a.latest_event - ({{ h('id', 44) }} % 86400) * interval '1 second'
from change_anchor a
cross join lateral (select a.last_event_id + g as id from generate_series(1, 200) as g) n
cross join lateral (
  select case
    when {{ h('id', 42) }} % 100 < 55 then 'page_view'
    when {{ h('id', 42) }} % 100 < 80 then 'product_view'
    when {{ h('id', 42) }} % 100 < 93 then 'add_to_cart'
    else 'checkout'
  end as event_type
) e;

analyze public.customers, public.orders, public.order_items, public.events;
comment on table public.customers is {{ adapter.pg_literal(integration_changes_label(round)) }};
{%- endmacro %}


{#-- integration_changes_label(round: int) -> str: the comment of public.customers after a round --#}
{% macro integration_changes_label(round) -%}
  {{ return('integration_tests changes, round=' ~ round) }}
{%- endmacro %}


{#-- integration_simulate_changes() -> '' (run-operation)
     Applies the next round of changes to the app data and commits; logs what
     changed. Raises when the app data has not been generated yet (run
     `dbt build` first). --#}
{% macro integration_simulate_changes() -%}
  {%- if execute -%}
    {%- set ready = pg_fetch('app', "select to_regclass('public.orders') is not null and to_regclass('public.customers') is not null") -%}
    {%- if not ready[0][0] -%}
      {%- do exceptions.raise_compiler_error("integration_simulate_changes: no app data in PostgreSQL yet; run `dbt build` first") -%}
    {%- endif -%}
    {%- set found = pg_fetch('app', "select coalesce(obj_description('public.customers'::regclass, 'pg_class'), '') as label, max(order_id) as last_order_id from public.orders") -%}
    {%- set prefix = integration_changes_label('') -%}
    {%- set round = (found[0][0][prefix | length:] | int) + 1 if found[0][0].startswith(prefix) else 1 -%}
    {%- do pg_execute('app', integration_changes_sql(round)) -%}
    {%- do adapter.commit() -%}
    {%- set summary_sql -%}
      select stamp::text as stamp,
             (select count(*) from public.customers where updated_at = stamp and created_at = stamp) as new_customers,
             (select count(*) from public.customers where updated_at = stamp and created_at < stamp) as changed_customers,
             (select count(*) from public.orders where updated_at = stamp and order_id > {{ found[0][1] }}) as new_orders,
             (select count(*) from public.orders where updated_at = stamp and order_id <= {{ found[0][1] }}) as changed_orders
      from (select max(updated_at) as stamp from public.customers) s
    {%- endset -%}
    {%- set summary = pg_fetch('app', summary_sql)[0] -%}
    {%- do log("integration_simulate_changes round " ~ round ~ " (updated_at = " ~ summary[0] ~ "): customers "
               ~ summary[1] ~ " new, " ~ summary[2] ~ " changed; orders " ~ summary[3] ~ " new, "
               ~ summary[4] ~ " changed; 200 new events", info=true) -%}
  {%- endif -%}
{%- endmacro %}
