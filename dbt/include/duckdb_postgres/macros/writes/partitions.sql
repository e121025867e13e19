{#--
  Partitioned targets: `partition_by={'field': <column>, 'granularity': 'day'|'month'|'year'}`
  on pg_full and pg_incremental_by_time (and their pg_materialize modes) makes
  the target a native PostgreSQL range-partitioned table (no extension), one
  partition per period, named `<t>__p<YYYYMMDD>` (dbt/adapters/duckdb_postgres/partitions.py).

  Full build (pg_full, a first build or --full-refresh of pg_incremental_by_time):
    the model result goes into a DuckDB TEMP table first; its periods and any
    NULL partition field (an error: a range partition cannot hold NULL and no
    default partition is made) are read from there before Postgres is touched.
    Then, in the one transaction of writes/full.sql, `<t>__dbt_tmp` is created
    PARTITION BY RANGE (field) with a partition `<t>__dbt_p<YYYYMMDD>` per period,
    loaded by one binary COPY into the parent (PostgreSQL routes each row,
    PostgreSQL 11+), indexed on the parent (CREATE INDEX on a partitioned table
    cascades to every partition) and ANALYZEd; the usual swap follows, then the
    new partitions and their indexes are renamed to `<t>__p...`. With dependent
    views the rows are replaced in place as pg_full does (TRUNCATE + INSERT into
    the existing partitioned target, its missing partitions created first).

  Incremental batch (pg_incremental_by_time), one transaction per step as in
  writes/incremental_by_time.sql. A step whose bounds lie on partition
  boundaries (batch_size equal to or coarser than the granularity) replaces each
  of its partitions by swap:
    1. `<t>__dbt_p<YYYYMMDD>` is created LIKE the target with a CHECK constraint
       equal to the partition bound (`field is not null and field >= lower and
       field < upper`), loaded by binary COPY from the run's TEMP table, given the
       target's plain indexes (so ATTACH finds them instead of building them) and
       ANALYZEd: all O(batch), before the target is locked by DDL;
    2. in the same postgres_execute as the indexes and ANALYZE: DETACH + DROP the
       old partition (if any), ATTACH the new table FOR VALUES FROM (lower) TO
       (upper), rename it and its indexes.
       ATTACH skips its validation scan because the CHECK constraint implies the
       partition constraint (PostgreSQL docs, ALTER TABLE ... ATTACH PARTITION).
       DETACH (not CONCURRENTLY) takes ACCESS EXCLUSIVE on the target until
       COMMIT: readers of the target wait for the rest of this short statement,
       not for the load.
    An existing partition of the step without model rows is detached and dropped.
    No row is deleted, so no dead tuples and no VACUUM debt; the cost grows with
    the batch, not the table. Other steps (batches finer than a partition, e.g.
    hour batches of day partitions, or a target holding partitions the adapter
    did not name) create their missing partitions and fall back to DELETE +
    INSERT on the partitioned table. Only the partitions written are ANALYZEd
    (ANALYZE of the parent samples every partition; autovacuum never analyzes a
    partitioned parent, PostgreSQL docs 25.1.6: a full build does).
  A failure anywhere rolls the step back: the old partition, its rows and its
  name are as they were, and no `__dbt_` table is left.
--#}

{#-- duckdb_postgres__partition_info(target) -> dict
     {'partitioned': bool, 'field': the range partition key column or none,
      'children': [names of the partitions]}, read inside Postgres. --#}
{% macro duckdb_postgres__partition_info(target) -%}
  {%- set sql -%}
    select pt.partstrat::text,
      (select string_agg(a.attname::text, ',') from unnest(pt.partattrs::int2[]) k(attnum)
         join pg_attribute a on a.attrelid = pt.partrelid and a.attnum = k.attnum),
      (select coalesce(json_agg(c.relname::text order by c.relname), '[]')::text
         from pg_inherits h join pg_class c on c.oid = h.inhrelid where h.inhparent = pt.partrelid)
    from pg_partitioned_table pt where pt.partrelid = to_regclass({{ adapter.pg_literal(target.pg_name()) }})
  {%- endset -%}
  {%- set rows = adapter.pg_query(target.database, sql) -%}
  {%- if rows | length == 0 -%}
    {{ return({'partitioned': false, 'field': none, 'children': []}) }}
  {%- endif -%}
  {{ return({'partitioned': rows[0][0] == 'r', 'field': rows[0][1], 'children': fromjson(rows[0][2])}) }}
{%- endmacro %}


{#-- duckdb_postgres__check_partitioned(target, options, info) -> None
     An existing target written incrementally with partition_by must be range
     partitioned by that field: raises a compilation error naming the fix
     (--full-refresh rebuilds it partitioned) otherwise. --#}
{% macro duckdb_postgres__check_partitioned(target, options, info) -%}
  {%- set field = options['partition_by']['field'] -%}
  {%- if not info['partitioned'] or info['field'] != field -%}
    {%- do exceptions.raise_compiler_error(options['label'] ~ ": partition_by={'field': '" ~ field ~ "', ...} but "
        ~ target ~ (" is partitioned by " ~ info['field'] if info['field'] else " is not a range-partitioned table")
        ~ ". Nothing was written. Run with --full-refresh to rebuild it partitioned by " ~ field
        ~ ", or remove partition_by.") -%}
  {%- endif -%}
{%- endmacro %}


{#-- duckdb_postgres__partition_options(options) -> dict
     The options as duckdb_postgres__batch_start_sql and adapter.pg_window_condition read
     them, for the partition field and granularity. --#}
{% macro duckdb_postgres__partition_options(options) -%}
  {%- set part = options['partition_by'] -%}
  {{ return({'event_time': part['field'], 'event_time_type': part['type'], 'batch_size': part['granularity']}) }}
{%- endmacro %}


{#-- duckdb_postgres__model_periods(table_sql, options) -> (periods: list of UTC text, nulls: int)
     The periods (partition starts) holding rows of the DuckDB relation
     `table_sql`, and how many rows have a NULL partition field; one grouped
     query in DuckDB. --#}
{% macro duckdb_postgres__model_periods(table_sql, options) -%}
  {%- set start_sql = duckdb_postgres__batch_start_sql(duckdb_postgres__partition_options(options)) -%}
  {%- set periods = [] -%}
  {%- set state = {'nulls': 0} -%}
  {%- for row in run_query('select ' ~ start_sql ~ ', count(*) from ' ~ table_sql ~ ' group by 1') -%}
    {%- if row[0] is none -%}{%- do state.update({'nulls': row[1] | int}) -%}
    {%- else -%}{%- do periods.append(row[0]) -%}{%- endif -%}
  {%- endfor -%}
  {{ return([periods, state['nulls']]) }}
{%- endmacro %}


{#-- duckdb_postgres__create_partitions_sql(parent, partitions, new_names, unlogged) -> str
     `create table if not exists <name> partition of <parent> for values from (...) to (...)`
     for each partition (its new_name when `new_names`, else its name), in
     `parent`'s schema. --#}
{% macro duckdb_postgres__create_partitions_sql(parent, partitions, new_names, unlogged) -%}
  {%- set statements = [] -%}
  {%- for p in partitions -%}
    {%- set child = parent.incorporate(path={'identifier': p['new_name'] if new_names else p['name']}) -%}
    {%- do statements.append('create ' ~ ('unlogged ' if unlogged else '') ~ 'table if not exists ' ~ child.pg_name()
                             ~ ' partition of ' ~ parent.pg_name() ~ ' ' ~ p['bound']) -%}
  {%- endfor -%}
  {{ return(statements | join(';\n')) }}
{%- endmacro %}


{#-- duckdb_postgres__rename_partitions_sql(target) -> str
     A DO block (run inside Postgres) that renames every partition of `target`
     named `<t>__dbt_p<YYYYMMDD>` to `<t>__p<YYYYMMDD>`, and its indexes (named
     by Postgres after the partition: `<t>__dbt_p<YYYYMMDD>_<column>_idx`) alike.
     Renaming an index also renames the constraint it backs. --#}
{% macro duckdb_postgres__rename_partitions_sql(target) -%}
  {%- set tag = '$dbt_' ~ local_md5(target.pg_name() ~ 'partitions') ~ '$' -%}
  {%- set new_prefix = adapter.pg_literal(target.identifier ~ '__dbt_p') -%}
  {%- set final_prefix = adapter.pg_literal(target.identifier ~ '__p') -%}
  {%- set schema = adapter.pg_literal(target.schema) -%}
  {%- set sql -%}
    do {{ tag }} declare p record; i record; base text; begin
      for p in select c.oid, c.relname::text as name from pg_inherits h join pg_class c on c.oid = h.inhrelid
               where h.inhparent = to_regclass({{ adapter.pg_literal(target.pg_name()) }})
                 and left(c.relname::text, length({{ new_prefix }})) = {{ new_prefix }}
      loop
        base := {{ final_prefix }} || substr(p.name, length({{ new_prefix }}) + 1);
        for i in select ic.relname::text as name from pg_index x join pg_class ic on ic.oid = x.indexrelid
                 where x.indrelid = p.oid and left(ic.relname::text, length(p.name)) = p.name
        loop
          execute format('alter index %I.%I rename to %I', {{ schema }}, i.name, base || substr(i.name, length(p.name) + 1));
        end loop;
        execute format('alter table %I.%I rename to %I', {{ schema }}, p.name, base);
      end loop;
    end {{ tag }}
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}


{#-- duckdb_postgres__copy_indexes_sql(target, table) -> str
     A DO block (run inside Postgres) creating on `table` an index like each plain
     index of `target` (columns only: no expression, predicate, INCLUDE columns
     or constraint; same access method and uniqueness), so that ATTACH PARTITION
     takes them as the partitions of the target's indexes instead of building
     new ones. ATTACH builds any index not matched here. --#}
{% macro duckdb_postgres__copy_indexes_sql(target, table) -%}
  {%- set tag = '$dbt_' ~ local_md5(table.pg_name()) ~ '$' -%}
  {%- set sql -%}
    do {{ tag }} declare s text; begin
      for s in select format('create %sindex on %s using %I (%s)',
                             case when x.indisunique then 'unique ' else '' end, {{ adapter.pg_literal(table.pg_name()) }}, am.amname,
                             (select string_agg(quote_ident(a.attname::text), ', ' order by k.ord)
                                from unnest(x.indkey::int2[]) with ordinality k(attnum, ord)
                                join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum))
               from pg_index x join pg_class ic on ic.oid = x.indexrelid join pg_am am on am.oid = ic.relam
               where x.indrelid = to_regclass({{ adapter.pg_literal(target.pg_name()) }})
                 and x.indexprs is null and x.indpred is null and x.indnatts = x.indnkeyatts
                 and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)
      loop
        execute s;
      end loop;
    end {{ tag }}
  {%- endset -%}
  {{ return(sql) }}
{%- endmacro %}


{#-- duckdb_postgres__null_partition_message(options, nulls: int) -> str --#}
{% macro duckdb_postgres__null_partition_message(options, nulls) -%}
  {{ return(options['label'] ~ ": " ~ nulls ~ " row(s) of the model have a NULL partition_by field ("
            ~ options['partition_by']['field'] ~ "); a range partition cannot hold NULL and no default partition is made, "
            ~ "so nothing was written. Filter them out or give them a value.") }}
{%- endmacro %}


{#-- duckdb_postgres__write_full_partitioned(target, select_sql, options) -> int
     The partitioned form of duckdb_postgres__write_full (see this file's header);
     same transaction and guarantees. Returns the rows written. Raises before
     anything is written for a name too long for the partition names, NULL
     partition field values, or dependent views on a target not partitioned by
     the same field. --#}
{% macro duckdb_postgres__write_full_partitioned(target, select_sql, options) -%}
  {%- set connection = target.database -%}
  {%- set part = options['partition_by'] -%}
  {%- set name_problem = adapter.pg_partition_name_problem(target) -%}
  {%- if name_problem -%}{%- do exceptions.raise_compiler_error(name_problem ~ ". Nothing was written.") -%}{%- endif -%}
  {%- set backup = target.incorporate(path={'identifier': target.identifier ~ '__dbt_backup'}, type='table') -%}
  {%- set work = adapter.pg_work_table(target, 'tmp') -%}
  {%- set tmp = work[0] -%}

  {#-- the model result in DuckDB (once), before the first Postgres statement --#}
  {%- set result_sql = 'select * from ' ~ duckdb_postgres__result_table(target) -%}
  {%- set read_here = select_sql != result_sql -%}
  {%- if read_here -%}
    {%- set result_sql = duckdb_postgres__read_first(target, select_sql) -%}
  {%- endif -%}
  {%- set found = duckdb_postgres__model_periods(duckdb_postgres__result_table(target), options) -%}
  {%- if found[1] > 0 -%}
    {%- do exceptions.raise_database_error(duckdb_postgres__null_partition_message(options, found[1])) -%}
  {%- endif -%}

  {%- set existing = adapter.pg_relation_info(target) -%}
  {%- set in_place = existing['kind'] is not none and existing['dependents'] is not none -%}
  {%- if in_place -%}
    {%- set info = duckdb_postgres__partition_info(target) -%}
    {%- if not info['partitioned'] or info['field'] != part['field'] -%}
      {%- do exceptions.raise_compiler_error("Cannot replace " ~ target ~ " by a table partitioned by " ~ part['field']
          ~ ": PostgreSQL view(s) " ~ existing['dependents'] ~ " depend on it and it is "
          ~ ("partitioned by " ~ info['field'] if info['field'] else "not partitioned")
          ~ ". Nothing was changed. Drop or recreate the dependent views and rerun.") -%}
    {%- endif -%}
  {%- endif -%}

  {#-- BEGIN (first statement opens the transaction): schema, leftovers --#}
  {{ duckdb_postgres__ensure_schema(connection, target.schema) }}
  {%- call statement('pg_full_prepare', auto_begin=True) -%}
    drop table if exists {{ backup }}
  {%- endcall -%}

  {#-- the partitioned <t>__dbt_tmp with one partition per period, loaded by one binary COPY --#}
  {%- set parts = adapter.pg_partitions(target, part, found[0]) -%}
  {%- set parts_sql = duckdb_postgres__create_partitions_sql(tmp, parts, true, options['unlogged']) -%}
  {%- set loaded = duckdb_postgres__stage(target, 'tmp', result_sql, false, options['column_types'],
                                          options.get('constraints'), part['field'], parts_sql, work) -%}
  {{ duckdb_postgres__check_stage(tmp, options) }}
  {%- do adapter.pg_execute(connection, duckdb_postgres__post_load_sql(tmp, options)) -%}

  {%- if in_place -%}
    {#-- the rows go into the existing target: its missing partitions first --#}
    {%- set target_parts = adapter.pg_partitions(target, part, found[0], info['children']) | rejectattr('exists') | list -%}
    {%- if target_parts -%}
      {%- do adapter.pg_execute(connection, duckdb_postgres__create_partitions_sql(target, target_parts, false, options['unlogged'])) -%}
    {%- endif -%}
  {%- endif -%}
  {{ duckdb_postgres__swap(target, tmp, backup, options) }}
  {%- if not in_place -%}
    {%- do adapter.pg_execute(connection, duckdb_postgres__rename_partitions_sql(target)) -%}
    {{ duckdb_postgres__clear_cache() }}
  {%- endif -%}
  {%- if read_here -%}{%- do duckdb_postgres__drop_result(target) -%}{%- endif -%}
  {{ return(loaded[1]) }}
{%- endmacro %}


{#-- duckdb_postgres__partition_swap(target, temp_name, state, parts, options) -> dict
     Inside the caller's step transaction (after its lock and on_schema_change):
     replace each partition of `parts` (duckdb_postgres__partition_step's, an
     aligned step) by a new table loaded with the TEMP table's rows of its period,
     or drop it when the model has none (see this file's header).
     Returns {'inserted': rows loaded}. --#}
{% macro duckdb_postgres__partition_swap(target, temp_name, state, parts, options) -%}
  {%- set connection = target.database -%}
  {%- set column_list = duckdb_postgres__column_list(state['columns']) -%}
  {%- set inserted = {'rows': 0} -%}
  {%- set prepare = [] -%}
  {%- set swap = [] -%}
  {%- for p in parts -%}
    {%- set old = target.incorporate(path={'identifier': p['name']}) -%}
    {%- if p['exists'] -%}
      {%- do swap.append('alter table ' ~ target.pg_name() ~ ' detach partition ' ~ old.pg_name()) -%}
      {%- do swap.append('drop table ' ~ old.pg_name()) -%}
    {%- endif -%}
    {%- if p['rows'] -%}
      {%- set new = target.incorporate(path={'identifier': p['new_name']}) -%}
      {%- set create -%}
        drop table if exists {{ new.pg_name() }};
        create {{ 'unlogged ' if options['unlogged'] }}table {{ new.pg_name() }} (
          like {{ target.pg_name() }} including defaults including constraints,
          constraint {{ adapter.pg_quote('dbt_partition_bound') }} check ({{ p['check'] }}))
      {%- endset -%}
      {%- do adapter.pg_execute(connection, create) -%}
      {{ duckdb_postgres__clear_cache() }}
      {%- set batch_sql = 'select ' ~ column_list ~ ' from ' ~ temp_name ~ ' where ' ~ p['condition'] -%}
      {%- set plan = adapter.pg_table_plan(new, batch_sql, options['column_types']) -%}
      {%- if plan['finalize'] -%}
        {#-- an unconstrained numeric column: through a Postgres stage (see duckdb_postgres__window_insert) --#}
        {%- set staged = adapter.pg_stage(target, 'batch', batch_sql, true, options['column_types']) -%}
        {%- do adapter.pg_execute(connection, 'insert into ' ~ new.pg_name() ~ ' (' ~ column_list ~ ') select ' ~ column_list
                                  ~ ' from ' ~ staged[0].pg_name() ~ ';\ndrop table ' ~ staged[0].pg_name()) -%}
        {{ duckdb_postgres__clear_cache() }}
        {%- do inserted.update({'rows': inserted['rows'] + staged[1]}) -%}
      {%- else -%}
        {%- call statement('pg_partition_load', fetch_result=True) -%}
          insert into {{ new }} ({{ column_list }})
          {{ plan['load'] }}
        {%- endcall -%}
        {%- do inserted.update({'rows': inserted['rows'] + load_result('pg_partition_load').table[0][0] | int}) -%}
      {%- endif -%}
      {%- do prepare.append(duckdb_postgres__copy_indexes_sql(target, new)) -%}
      {%- do prepare.append('analyze ' ~ new.pg_name()) -%}
      {%- do swap.append('alter table ' ~ target.pg_name() ~ ' attach partition ' ~ new.pg_name() ~ ' ' ~ p['bound']) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if swap -%}
    {%- do swap.append(duckdb_postgres__rename_partitions_sql(target)) -%}
    {#-- one round trip: indexes and ANALYZE of the new tables first, then the DDL
         on the target (DETACH's ACCESS EXCLUSIVE lock is taken only after them) --#}
    {%- do adapter.pg_execute(connection, (prepare + swap) | join(';\n')) -%}
    {{ duckdb_postgres__clear_cache() }}
  {%- endif -%}
  {{ return({'inserted': inserted['rows']}) }}
{%- endmacro %}
