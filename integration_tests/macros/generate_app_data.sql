{#--
  Deterministic e-commerce data in the `app` PostgreSQL database.

  Every value is a function of the row number and a per-column seed
  (Postgres' hashint8extended), so the same `scale` always gives the same
  rows; only timestamps are placed relative to `data_end` (default: the
  current hour at generation time, so source freshness passes right after
  generating). All of it is generated inside Postgres with generate_series;
  nothing crosses the network.
--#}

{#-- integration_hash(expr: SQL bigint expression, seed: int) -> SQL
     A non-negative bigint hash of `expr`, stable across runs and servers. --#}
{% macro integration_hash(expr, seed) -%}
  (hashint8extended(({{ expr }})::bigint, {{ seed }}) & 9223372036854775807)
{%- endmacro %}


{#-- integration_pick(values: list of str, expr, seed) -> SQL
     One of `values` (as a text literal), chosen by the hash of `expr`. --#}
{% macro integration_pick(values, expr, seed) -%}
  (array['{{ values | join("', '") }}'])[1 + {{ integration_hash(expr, seed) }} % {{ values | length }}]
{%- endmacro %}


{#-- integration_app_data_sql(scale: int, data_end: SQL timestamptz expression, label: str) -> SQL
     Drops and recreates customers, products, orders, order_items and events
     in schema public, and records `label` as the comment of public.orders.
     Run as one postgres_execute call: atomic. --#}
{% macro integration_app_data_sql(scale, data_end, label) -%}
{%- set n_customers = [scale // 10, 100] | max -%}
{%- set n_products = [scale // 200, 50] | max -%}
{%- set n_events = scale * 5 -%}
{%- set h = integration_hash -%}
drop table if exists public.events, public.order_items, public.orders, public.products, public.customers;

create temporary table generation_window on commit drop as
select {{ data_end }} as data_end;

create table public.customers (
  customer_id bigint primary key,
  email text not null,
  full_name text not null,
  country text not null,
  active boolean not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
insert into public.customers
select
  g,
  'customer' || g || '@example.com',
  {{ integration_pick(['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Margaret', 'Linus'], 'g', 1) }}
    || ' ' || {{ integration_pick(['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Hamilton', 'Torvalds'], 'g', 2) }},
  {{ integration_pick(['US', 'US', 'US', 'DE', 'FR', 'GB', 'NL', 'ES', 'CA', 'BR'], 'g', 3) }},
  {{ h('g', 4) }} % 10 < 8,
  w.data_end - interval '730 days' + ({{ h('g', 5) }} % (365 * 86400)) * interval '1 second',
  w.data_end - ({{ h('g', 6) }} % (365 * 86400)) * interval '1 second'
from generate_series(1::bigint, {{ n_customers }}) as g, generation_window w;

create table public.products (
  product_id bigint primary key,
  sku text not null unique,
  name text not null,
  category text not null,
  unit_price numeric(12, 2) not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
insert into public.products
select
  g,
  'SKU-' || lpad(g::text, 6, '0'),
  initcap(category) || ' item ' || g,
  category,
  ((499 + {{ h('g', 12) }} % 19500) / 100.0)::numeric(12, 2),
  w.data_end - interval '800 days',
  w.data_end - interval '400 days' + ({{ h('g', 13) }} % 30) * interval '1 day'
from generate_series(1::bigint, {{ n_products }}) as g
cross join generation_window w
cross join lateral (
  select {{ integration_pick(['books', 'electronics', 'garden', 'home', 'kitchen', 'outdoor', 'sports', 'toys'], 'g', 11) }} as category
) c;

{#-- orders: ids increase with time over the 365 days before data_end --#}
create table public.orders (
  order_id bigint primary key,
  customer_id bigint not null references public.customers,
  status text not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
insert into public.orders
select
  g,
  1 + {{ h('g', 21) }} % {{ n_customers }},
  case
    when s < 5 then 'placed'
    when s < 15 then 'paid'
    when s < 30 then 'shipped'
    when s < 85 then 'delivered'
    when s < 95 then 'cancelled'
    else 'returned'
  end,
  created_at,
  least(created_at + ({{ h('g', 23) }} % (3 * 86400)) * interval '1 second', w.data_end)
from generate_series(1::bigint, {{ scale }}) as g
cross join generation_window w
cross join lateral (
  select
    w.data_end - interval '365 days' + ((g - 1) * (365 * 86400) / {{ scale }}) * interval '1 second' as created_at,
    {{ h('g', 22) }} % 100 as s
) o;

{#-- 1 to 4 lines per order, at the product's price --#}
create table public.order_items (
  order_item_id bigint primary key,
  order_id bigint not null references public.orders,
  line_number int not null,
  product_id bigint not null references public.products,
  quantity int not null,
  unit_price numeric(12, 2) not null,
  created_at timestamptz not null
);
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
cross join lateral generate_series(1, 1 + {{ h('o.order_id', 31) }} % 4) as l(line_number)
join public.products p on p.product_id = 1 + {{ h('o.order_id * 10 + l.line_number', 32) }} % {{ n_products }};

{#-- clickstream: product_id is set for product events only --#}
create table public.events (
  event_id bigint primary key,
  customer_id bigint not null,
  event_type text not null,
  product_id bigint,
  occurred_at timestamptz not null
);
insert into public.events
select
  g,
  1 + {{ h('g', 41) }} % {{ n_customers }},
  event_type,
  case when event_type <> 'page_view' then 1 + {{ h('g', 43) }} % {{ n_products }} end,
  w.data_end - interval '365 days' + ((g - 1) * (365 * 86400) / {{ n_events }}) * interval '1 second'
from generate_series(1::bigint, {{ n_events }}) as g
cross join generation_window w
cross join lateral (
  select case
    when {{ h('g', 42) }} % 100 < 55 then 'page_view'
    when {{ h('g', 42) }} % 100 < 80 then 'product_view'
    when {{ h('g', 42) }} % 100 < 93 then 'add_to_cart'
    else 'checkout'
  end as event_type
) e;

create index on public.orders (customer_id);
create index on public.orders (updated_at);
create index on public.order_items (order_id);
create index on public.events (occurred_at);
analyze public.customers, public.products, public.orders, public.order_items, public.events;
comment on table public.orders is {{ adapter.pg_literal(label) }};
{%- endmacro %}


{#-- integration_data_label(scale: int, data_end: str or none) -> str
     What the generated data is, kept as the comment of public.orders so that
     another scale or data_end regenerates it. --#}
{% macro integration_data_label(scale, data_end) -%}
  {{ return('integration_tests data, scale=' ~ scale ~ ('' if data_end is none else ', data_end=' ~ data_end)) }}
{%- endmacro %}


{#-- integration_drop_incremental_targets() -> None
     Drops the Postgres tables of the project's pg_incremental_by_time and
     pg_upsert_by_key models, one transaction per table (one DuckDB transaction
     writes one attached database). Called when the app
     data is regenerated: those tables hold figures of the old data, which an
     incremental run would keep (it only re-reads its window or the rows
     changed since its last run), so they are rebuilt from scratch instead. --#}
{% macro integration_drop_incremental_targets() -%}
  {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.package_name == project_name
        and node.config.materialized in ['pg_incremental_by_time', 'pg_upsert_by_key'] -%}
    {%- set relation = api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias, type='table') -%}
    {%- set exists_sql = "select to_regclass(" ~ adapter.pg_literal(relation.pg_name()) ~ ") is not null" -%}
    {%- if pg_fetch(node.database, exists_sql)[0][0] -%}
      {%- do log("Dropping " ~ relation ~ ": it holds figures of the previous app data", info=true) -%}
      {%- call statement('integration_drop_' ~ node.name, auto_begin=True) -%}
        drop table if exists {{ relation }}
      {%- endcall -%}
      {%- do adapter.commit() -%}
    {%- endif -%}
  {%- endfor -%}
  {#-- DuckDB's postgres extension keeps the dropped tables' indexes in its
       catalog cache, and duckdb_indexes() (which dbt-duckdb's table
       materialization scans) then fails with "Table with name ... does not
       exist" until the cache is cleared --#}
  {%- call statement('integration_clear_cache', auto_begin=False) -%}
    call pg_clear_cache()
  {%- endcall -%}
{%- endmacro %}


{#-- integration_generate_app_data() -> '' (on-run-start hook)
     Generates the app data when it is missing or was generated with another
     `scale` or `data_end` (and then drops the incremental marts built from the
     old data), then commits. The hook runs in dbt's master connection: pg_fetch
     opens a DuckDB transaction (= one Postgres transaction on `app`), which is
     committed here so the data is visible to every model thread. --#}
{% macro integration_generate_app_data() -%}
  {%- if execute -%}
    {%- set scale = var('scale') | int -%}
    {%- if scale < 1 -%}
      {%- do exceptions.raise_compiler_error("var scale=" ~ var('scale') ~ ": expected a positive number of orders") -%}
    {%- endif -%}
    {%- set data_end = var('data_end', none) -%}
    {%- set data_end_sql = "date_trunc('hour', now())" if data_end is none else adapter.pg_literal(data_end) ~ "::timestamptz" -%}
    {%- set label = integration_data_label(scale, data_end) -%}
    {%- set found = pg_fetch('app', "select coalesce(obj_description(to_regclass('public.orders'), 'pg_class'), '') as label") -%}
    {%- if found[0][0] != label -%}
      {%- do log("Generating app data (" ~ label ~ ") in PostgreSQL", info=true) -%}
      {%- do pg_execute('app', integration_app_data_sql(scale, data_end_sql, label)) -%}
      {%- do adapter.commit() -%}
      {%- do integration_drop_incremental_targets() -%}
    {%- endif -%}
    {%- do adapter.commit() -%}
  {%- endif -%}
{%- endmacro %}
