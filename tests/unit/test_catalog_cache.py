"""When the adapter clears DuckDB's cache of the attached Postgres catalogs
(catalog_cache.CatalogCacheGuard): around catalog changes only; and the names of
work tables, which the cache cannot hold (catalog_cache.WorkTableNames)."""

from dbt.adapters.duckdb_postgres.catalog_cache import TAG_LENGTH
from dbt.adapters.duckdb_postgres.catalog_cache import CatalogCacheGuard
from dbt.adapters.duckdb_postgres.catalog_cache import WorkTableNames


def test_no_change_never_clears():
    guard = CatalogCacheGuard()
    guard.began(1)
    guard.began(2)
    assert guard.ended(1) is False
    assert guard.ended(2) is False


def test_writer_clears_at_its_end_and_overlapping_reader_clears_at_its_end():
    guard = CatalogCacheGuard()
    guard.began(1)  # a DuckDB-resident model, its Postgres snapshot taken early
    guard.began(2)  # a Postgres write
    guard.changed(2)
    assert guard.ended(2) is True  # COMMIT of the ALTER TABLE: clear
    # the reader may reload the old columns after that clear
    guard.began(3)
    assert guard.ended(3) is False  # began after the change: nothing stale from it
    assert guard.ended(1) is True  # the old reader ends: clear what it reloaded
    guard.began(4)
    assert guard.ended(4) is False  # no older transaction left


def test_rollback_of_a_writer_clears():
    guard = CatalogCacheGuard()
    guard.began(1)
    guard.changed(1)
    assert guard.ended(1) is True
    assert guard.ended(1) is False  # already ended (close after rollback)


def test_change_outside_a_transaction():
    guard = CatalogCacheGuard()
    # nothing open: the caller's own clear suffices
    assert guard.changed_outside_transaction() is False
    guard.began(1)
    assert guard.changed_outside_transaction() is True
    assert guard.ended(1) is True


def test_work_table_names_are_new_to_the_process_until_their_tags_run_out():
    names = WorkTableNames()
    taken = [names.take("warehouse", "marts", "t__dbt_stage") for _ in range(36**TAG_LENGTH)]
    # the plain name first, then tagged ones, never twice and never needing a clear
    assert taken[:3] == [
        ("t__dbt_stage", False),
        ("t__dbt_stage1", False),
        ("t__dbt_stage2", False),
    ]
    assert taken[-1] == ("t__dbt_stagezz", False)
    assert len({name for name, _ in taken}) == len(taken)
    assert not any(clear for _, clear in taken)
    assert max(len(name) for name, _ in taken) == len("t__dbt_stage") + TAG_LENGTH
    # used up: the plain name again, with a clear of the cache; then the tags again
    assert names.take("warehouse", "marts", "t__dbt_stage") == ("t__dbt_stage", True)
    assert names.take("warehouse", "marts", "t__dbt_stage") == ("t__dbt_stage1", False)
    # each connection and schema has names of its own
    assert names.take("replica", "marts", "t__dbt_stage") == ("t__dbt_stage", False)
    assert names.take("warehouse", "other", "t__dbt_stage") == ("t__dbt_stage", False)
