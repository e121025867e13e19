{#--
  Merge by key into an existing Postgres table: the one implementation behind
  `pg_upsert_by_key` and `pg_materialize(mode='upsert_by_key')`.

  One Postgres transaction (the DuckDB transaction, docs/architecture.md "Transactions"):
    1. adapter.pg_lock_target: READ COMMITTED and an advisory lock on the
       target, so concurrent writers of one target serialize and the result
       equals a serial run;
    2. the model result goes by binary COPY into an UNLOGGED stage table
       `<t>__dbt_stage` (transfer grows with the model result, not the target);
    3. the stage is checked inside Postgres (NULL/duplicate keys, on_conflict='fail');
    4. on_schema_change is applied;
    5. with a unique index on exactly the key columns: INSERT ... ON CONFLICT (key)
       DO UPDATE (only rows whose values change) / DO NOTHING; without one:
       UPDATE ... FROM the stage (same rule) + INSERT of the keys not in the target.
       incremental_predicates (dbt's merge) join the key match in the second form:
       a stage row whose target row fails them is not matched and is inserted,
       as dbt's MERGE ... ON <key> AND <predicates> does.
       "Values change" is `(t.cols) is distinct from (s.cols)`, with columns whose
       type has no equality operator compared through a cast that has one
       (comparison_casts_sql in dbt/adapters/duckdb_postgres/merge.py);
    6. grants, and the stage is dropped.
  Any failure rolls all of it back: the target is unchanged and no stage is left.
  Columns outside the update columns (merge_update_columns /
  merge_exclude_columns, or columns the model lacks) keep their values.
  `SET LOCAL random_page_cost = 1.1` (set by adapter.pg_lock_target) makes the key joins use the index
  (docs/architecture.md "Costs": DELETE USING 6.6-7.5 s -> 2.9-3.0 s on 10M rows).
--#}

{#-- duckdb_postgres__write_by_key(target, select_sql, options) -> dict
     The upsert_by_key mode (and dbt's merge) as duckdb_postgres__write reports
     it: an existing target is merged into; a missing one (or a full refresh) is
     built by full replacement with an index on the key, unique (so later runs use
     INSERT ... ON CONFLICT) unless incremental_predicates are set: a stage row
     whose target row fails them is not matched and is inserted next to it, as
     dbt's MERGE ... ON <key> AND <predicates> does, so the key may repeat; a
     plain index still serves the key lookups. --#}
{% macro duckdb_postgres__write_by_key(target, select_sql, options) -%}
  {%- if not should_full_refresh() and adapter.pg_relation_info(target)['kind'] is not none -%}
    {%- set result = duckdb_postgres__write_upsert_by_key(target, select_sql, options) -%}
    {{ return(adapter.pg_write_result(result, 'INSERT ' ~ result['inserted'] ~ ', UPDATE ' ~ result['updated'])) }}
  {%- endif -%}
  {%- set key_index = adapter.pg_parse_index({'columns': options['unique_key'],
                                              'unique': not options['incremental_predicates']}) -%}
  {%- do options.update({'indexes': [key_index] + options['indexes']}) -%}
  {{ return(duckdb_postgres__write_full_result(target, select_sql, options)) }}
{%- endmacro %}


{#-- duckdb_postgres__write_upsert_by_key(target, select_sql, options) -> dict
     Returns {'inserted': int, 'updated': int (rows whose values changed),
     'rows': int (rows in the model result)}. The caller commits.
     Pre-hooks that ran inside the model's transaction are committed first: the
     lock must be the first statement of the write's Postgres transaction.
     The queries are built in Python (adapter.pg_merge_catalog, adapter.pg_merge;
     dbt/adapters/duckdb_postgres/merge.py says why). --#}
{% macro duckdb_postgres__write_upsert_by_key(target, select_sql, options) -%}
  {%- do adapter.pg_begin_write(target) -%}
  {%- set staged = adapter.pg_stage(target, 'stage', select_sql, true, options['column_types']) -%}
  {#-- one catalog query: the stage's and the target's columns, the target's comparison casts,
       and whether a unique index on the key serves ON CONFLICT --#}
  {%- set catalog = adapter.pg_merge_catalog(target, staged[0], options['unique_key']) -%}
  {%- set synced = duckdb_postgres__sync_schema(target, catalog['stage_columns'], options['on_schema_change'],
                                                old_columns=catalog['target_columns']) -%}
  {%- set grant_sql = duckdb_postgres__grant_sql(target, options['grants']) if options['grants'] else '' -%}
  {%- set result = adapter.pg_merge(target, staged[0], options, synced['columns'], catalog, synced['altered'], grant_sql) -%}
  {#-- the dropped stage's name is never bound again (adapter.pg_work_table): only ALTERs
       of the target leave DuckDB's catalog cache stale --#}
  {%- if synced['altered'] -%}{{ duckdb_postgres__clear_cache() }}{%- endif -%}
  {%- do result.update({'rows': staged[1]}) -%}
  {{ return(result) }}
{%- endmacro %}
