"""Where records go: JSON lines (:mod:`.jsonl`), Parquet (:mod:`.parquet`), pandas
(:mod:`.dataframe`). Each module loads its own dependency when used; this package imports
none of them.
"""
