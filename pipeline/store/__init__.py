"""Store: the Parquet output contract (`schema`), committed as whole snapshots (`snapshots`),
the state a run starts from (`state`) and the rows a run writes (`tables`)."""
from pipeline.store.schema import PUBLIC_TABLES, SCHEMAS, empty_table, to_table  # noqa: F401
from pipeline.store.snapshots import (  # noqa: F401
    Snapshot,
    Store,
    StoreBusyError,
    StoreChangedError,
    StoreError,
    Writer,
)
