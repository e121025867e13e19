"""When the adapter clears DuckDB's cache of the attached Postgres catalogs
(catalog_cache.CatalogCacheGuard): around catalog changes only."""

from dbt.adapters.duckdb_postgres.catalog_cache import CatalogCacheGuard


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
