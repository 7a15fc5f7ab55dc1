"""Where records go: JSON lines (:mod:`.jsonl`), Parquet (:mod:`.parquet`), pandas frames.

Each module loads its own dependency when used (pandas in :mod:`.dataframe`, pyarrow in
:mod:`.parquet`); this package imports none of them.
"""
