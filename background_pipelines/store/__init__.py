"""The store: tables, migrations and the SQL that owns each table."""

from background_pipelines.store.engine import Store, StoreError, insert_ignore, open_store, upsert

__all__ = ["Store", "StoreError", "insert_ignore", "open_store", "upsert"]
