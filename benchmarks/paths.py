"""The contenders that ``benchmarks/run.py`` times, one per process.

    python benchmarks/paths.py NAME FILE

runs one path over a capture file and prints ``records=N columns=K`` (``lines=N`` for
``orjson_only``). Each path imports what it needs inside its function, so a process pays only
for its own imports. The hand-written paths understand exactly the shapes
``benchmarks/generate.py`` writes (CSV, ``{"instances": [{"features": ...}]}``,
``{"predictions": [...]}``, JSON Lines, BASE64 of those), also with words in some features
(``generate.py --mixed-text``): the DataFrame paths keep a feature numeric when all its values
are numbers and text otherwise. None of them validates anything, keeps a ledger or reports
rejects, which is what ``arthur_capture`` adds.
"""

# ruff: noqa: S608 - the DuckDB SQL is built from this module's constants, never from input

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb
    import pandas as pd
    import polars as pl

#: ``(records, columns)``; columns is 0 for paths that build no table.
Result = tuple[int, int]

_CSV = "text/csv"
_JSONL = "application/jsonlines"


def _media(side: dict[str, Any]) -> str:
    content_type: str = side["observedContentType"]
    return content_type.split(";", 1)[0].strip().lower()


def _partner_id(meta: dict[str, Any], index: int, count: int) -> str:
    base: str = meta.get("inferenceId") or meta["eventId"]
    return f"{base}_{index}" if count > 1 else base


# 1. orjson_only --------------------------------------------------------------------------------


def orjson_only(path: str) -> Result:
    """``orjson.loads`` of every line and nothing else: the floor for any Python reader."""
    import orjson

    lines = 0
    with open(path, "rb") as handle:  # noqa: PTH123
        for line in handle:
            orjson.loads(line)
            lines += 1
    return lines, 0


# 2. orjson_split -------------------------------------------------------------------------------


def _number(text: str) -> float | str:
    """``float(text)``, or the text itself when it is a word (``--mixed-text`` files)."""
    try:
        return float(text)
    except ValueError:
        return text


def _split_side(side: dict[str, Any]) -> list[Any]:
    import base64

    import orjson

    data: str = side["data"]
    if side["encoding"] == "BASE64":
        data = base64.b64decode(data).decode()
    media = _media(side)
    if media == _CSV:
        return [[_number(v) for v in row.split(",")] for row in data.split("\n") if row]
    if media == _JSONL:
        return [orjson.loads(row) for row in data.split("\n") if row.strip()]
    document = orjson.loads(data)
    if isinstance(document, dict) and len(document) == 1:
        (value,) = document.values()
        if isinstance(value, list):
            return value
    return document if isinstance(document, list) else [document]


def orjson_split(path: str) -> Result:
    """orjson plus splitting each payload into per-inference tuples; no DataFrame."""
    import orjson

    records: list[tuple[str, str, Any, Any]] = []
    with open(path, "rb") as handle:  # noqa: PTH123
        for line in handle:
            event = orjson.loads(line)
            capture = event["captureData"]
            meta = event["eventMetadata"]
            inputs = _split_side(capture["endpointInput"])
            outputs = _split_side(capture["endpointOutput"])
            if len(inputs) != len(outputs):
                raise ValueError(f"count mismatch in {meta['eventId']}")
            count = len(inputs)
            when = meta["inferenceTime"]
            records.extend(
                (_partner_id(meta, i, count), when, inputs[i], outputs[i]) for i in range(count)
            )
    return len(records), 0


# 3. naive_stdlib -------------------------------------------------------------------------------


def _naive_rows(side: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """One side as a list of column -> value dicts, the way one writes it with the stdlib."""
    import base64
    import csv
    import io
    import json

    data = side["data"]
    if side["encoding"] == "BASE64":
        data = base64.b64decode(data).decode("utf-8")
    media = _media(side)
    if media == _CSV:
        return [
            {f"{prefix}_{i}": _number(v) for i, v in enumerate(fields)}
            for fields in csv.reader(io.StringIO(data))
        ]
    if media == _JSONL:
        items = [json.loads(text) for text in data.splitlines() if text.strip()]
    else:
        document = json.loads(data)
        items = document.get("instances") or document.get("predictions") or [document]
    rows: list[dict[str, Any]] = []
    for item in items:
        if "features" in item:
            rows.append({f"{prefix}_{i}": v for i, v in enumerate(item["features"])})
        else:
            rows.append(dict(item))
    return rows


def naive_frame(path: str) -> pd.DataFrame:
    """``json`` + ``csv``, a list of dicts per inference, then a pandas DataFrame."""
    import json

    import pandas as pd

    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as handle:  # noqa: PTH123
        for line in handle:
            event = json.loads(line)
            meta = event["eventMetadata"]
            inputs = _naive_rows(event["captureData"]["endpointInput"], "input")
            outputs = _naive_rows(event["captureData"]["endpointOutput"], "output")
            for i, (request, response) in enumerate(zip(inputs, outputs, strict=True)):
                row = {
                    "partner_inference_id": _partner_id(meta, i, len(inputs)),
                    "inference_timestamp": meta["inferenceTime"],
                }
                row.update(request)
                row.update(response)
                rows.append(row)
    frame = pd.DataFrame(rows)
    frame["inference_timestamp"] = pd.to_datetime(frame["inference_timestamp"], utc=True)
    return frame


def naive_stdlib(path: str) -> Result:
    """The stdlib DataFrame (:func:`naive_frame`)."""
    frame = naive_frame(path)
    return len(frame), len(frame.columns)


# 4. pandas_idiomatic ---------------------------------------------------------------------------


def _pandas_split(row: pd.Series) -> list[dict[str, Any]]:
    capture = row["captureData"]
    meta = row["eventMetadata"]
    inputs = _naive_rows(capture["endpointInput"], "input")
    outputs = _naive_rows(capture["endpointOutput"], "output")
    return [
        {
            "partner_inference_id": _partner_id(meta, i, len(inputs)),
            "inference_timestamp": meta["inferenceTime"],
            **request,
            **response,
        }
        for i, (request, response) in enumerate(zip(inputs, outputs, strict=True))
    ]


def pandas_frame(path: str) -> pd.DataFrame:
    """``pd.read_json(lines=True)``, a per-row ``apply`` that splits payloads, ``explode``."""
    import pandas as pd

    events = pd.read_json(path, lines=True, dtype=False)
    events["inference"] = events.apply(_pandas_split, axis=1)
    exploded = events.explode("inference", ignore_index=True)
    frame = pd.DataFrame(exploded["inference"].tolist())
    frame["inference_timestamp"] = pd.to_datetime(frame["inference_timestamp"], utc=True)
    return frame


def pandas_idiomatic(path: str) -> Result:
    """The idiomatic pandas DataFrame (:func:`pandas_frame`)."""
    frame = pandas_frame(path)
    return len(frame), len(frame.columns)


# 5. polars -------------------------------------------------------------------------------------


def _polars_sides(events: pl.LazyFrame, side: str) -> pl.LazyFrame:
    """``line, media, data`` for one side, BASE64 decoded to text."""
    import polars as pl

    frame = events.select(
        "line", pl.col("captureData").struct.field(side).struct.unnest()
    ).with_columns(
        media=pl.col("observedContentType")
        .str.split(";")
        .list.first()
        .str.strip_chars()
        .str.to_lowercase()
    )
    plain = frame.filter(pl.col("encoding") != "BASE64")
    decoded = frame.filter(pl.col("encoding") == "BASE64").with_columns(
        pl.col("data").str.decode("base64").cast(pl.String)
    )
    return pl.concat([plain, decoded]).select("line", "media", "data")


def _polars_lines(frame: pl.LazyFrame, media: str) -> pl.LazyFrame:
    """One row per non-empty line of the payloads of one media type, numbered within its call."""
    import polars as pl

    return (
        frame.filter(pl.col("media") == media)
        .select("line", item=pl.col("data").str.split("\n"))
        .explode("item")
        .filter(pl.col("item").str.strip_chars() != "")
        .with_columns(idx=pl.int_range(pl.len()).over("line"))
    )


def _polars_json_items(frame: pl.LazyFrame, key: str, dtype: pl.DataType) -> pl.LazyFrame:
    """Rows of ``{key: [item, ...]}`` JSON documents, exploded into one row per item."""
    import polars as pl

    return (
        frame.filter(pl.col("media") == "application/json")
        .select("line", item=pl.col("data").str.json_decode(pl.Struct({key: pl.List(dtype)})))
        .select("line", item=pl.col("item").struct.field(key))
        .explode("item")
        .with_columns(idx=pl.int_range(pl.len()).over("line"))
    )


def polars_frame(path: str) -> pl.DataFrame:
    """Every inference of ``path`` as a polars DataFrame, with polars expressions."""
    import polars as pl

    side = pl.Struct(
        {
            "observedContentType": pl.String,
            "mode": pl.String,
            "data": pl.String,
            "encoding": pl.String,
        }
    )
    schema: dict[str, pl.DataType] = {
        "captureData": pl.Struct({"endpointInput": side, "endpointOutput": side}),
        "eventMetadata": pl.Struct(
            {"eventId": pl.String, "inferenceId": pl.String, "inferenceTime": pl.String}
        ),
        "eventVersion": pl.String(),
    }
    events = pl.read_ndjson(path, schema=schema).with_row_index("line").lazy()
    features = pl.List(pl.String)  # numbers as their text; see _polars_numeric
    scores = pl.Struct({"score": pl.Float64, "predicted_label": pl.Int64})

    requests = _polars_sides(events, "endpointInput")
    inputs = pl.concat(
        [
            _polars_lines(requests, _CSV).select(
                "line",
                "idx",
                values=pl.col("item").str.split(","),
            ),
            _polars_lines(requests, _JSONL).select(
                "line",
                "idx",
                values=pl.col("item")
                .str.json_decode(pl.Struct({"features": features}))
                .struct.field("features"),
            ),
            _polars_json_items(requests, "instances", pl.Struct({"features": features})).select(
                "line", "idx", values=pl.col("item").struct.field("features")
            ),
        ]
    )
    responses = _polars_sides(events, "endpointOutput")
    outputs = pl.concat(
        [
            _polars_lines(responses, _CSV).select(
                "line", "idx", output_0=pl.col("item").cast(pl.Float64)
            ),
            _polars_lines(responses, _JSONL).select(
                "line",
                "idx",
                pl.col("item").str.json_decode(pl.Struct({"score": pl.Float64})).struct.unnest(),
            ),
            _polars_json_items(responses, "predictions", scores).select(
                "line", "idx", pl.col("item").struct.unnest()
            ),
        ],
        how="diagonal",
    )
    width = inputs.select(pl.col("values").list.len().max()).collect().item()
    meta = events.select("line", pl.col("eventMetadata").struct.unnest())
    count = pl.len().over("line")
    base = pl.coalesce(pl.col("inferenceId").replace("", None), pl.col("eventId"))
    frame = (
        inputs.join(outputs, on=["line", "idx"], how="full", coalesce=True)
        .join(meta, on="line", how="left")
        .sort("line", "idx")
        .select(
            partner_inference_id=pl.when(count > 1)
            .then(pl.concat_str(base, pl.lit("_"), pl.col("idx").cast(pl.String)))
            .otherwise(base),
            inference_timestamp=pl.col("inferenceTime").str.to_datetime(time_zone="UTC"),
            inputs=pl.col("values").list.to_struct([f"input_{i}" for i in range(width)]),
            outputs=pl.struct(pl.exclude("line", "idx", "values", "^event.*$", "^inference.*$")),
        )
        .unnest("inputs", "outputs")
        .collect()
    )
    return _polars_numeric(frame, [f"input_{i}" for i in range(width)])


def _polars_numeric(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Each text column of ``columns`` as Float64 when every value in it is a number."""
    import polars as pl

    numbers = frame.select(pl.col(columns).cast(pl.Float64, strict=False))
    nulls = frame.select(pl.col(columns).null_count()).row(0)
    casts = [
        numbers[name]
        for name, before in zip(columns, nulls, strict=True)
        if numbers[name].null_count() == before
    ]
    return frame.with_columns(casts)


def polars(path: str) -> Result:
    """``pl.read_ndjson`` and expressions (``json_decode``, ``str.split``, ``explode``, joins)."""
    frame = polars_frame(path)
    return frame.height, frame.width


# 6. duckdb -------------------------------------------------------------------------------------

_DUCK_SIDE = "STRUCT(observedContentType VARCHAR, mode VARCHAR, data VARCHAR, encoding VARCHAR)"
_DUCK_COLUMNS = {
    "captureData": f"STRUCT(endpointInput {_DUCK_SIDE}, endpointOutput {_DUCK_SIDE})",
    "eventMetadata": "STRUCT(eventId VARCHAR, inferenceId VARCHAR, inferenceTime VARCHAR)",
    "eventVersion": "VARCHAR",
}


def _duck_side(side: str) -> str:
    """``line, media, data`` of one side of every event, BASE64 decoded to text."""
    return f"""
        SELECT line,
               lower(trim(split_part(captureData.{side}.observedContentType, ';', 1))) AS media,
               CASE WHEN captureData.{side}.encoding = 'BASE64'
                    THEN decode(from_base64(captureData.{side}.data))
                    ELSE captureData.{side}.data END AS data
        FROM events"""


def _duck_items(side: str, media: str, key: str | None = None) -> str:
    """``line, idx, item`` per inference of one side and media type: lines of a text body
    (blank ones dropped), or the elements of ``{key: [...]}`` JSON documents."""
    if key is None:
        items = "list_filter(string_split(data, chr(10)), lambda x: trim(x) <> '')"
    else:
        items = f"json_extract(data, '$.{key}[*]')"
    return f"""
        SELECT line, unnest(items) AS item, generate_subscripts(items, 1) - 1 AS idx
        FROM (SELECT line, {items} AS items FROM {side} WHERE media = '{media}')"""


def duckdb_frame(path: str) -> pd.DataFrame:
    """Every inference of ``path`` as a pandas DataFrame, with DuckDB SQL."""
    import duckdb

    con = duckdb.connect()
    columns = ", ".join(f"{name}: '{kind}'" for name, kind in _DUCK_COLUMNS.items())
    con.execute(
        "CREATE TEMP TABLE events AS SELECT row_number() OVER () AS line, * "
        f"FROM read_ndjson(?, columns = {{{columns}}})",
        [path],
    )
    con.execute(f"CREATE TEMP TABLE requests AS {_duck_side('endpointInput')}")
    con.execute(f"CREATE TEMP TABLE responses AS {_duck_side('endpointOutput')}")
    con.execute(
        f"""CREATE TEMP TABLE inputs AS
        SELECT line, idx, string_split(item, ',') AS v FROM ({_duck_items("requests", _CSV)})
        UNION ALL
        SELECT line, idx, json_extract_string(item, '$.features[*]') AS v
        FROM ({_duck_items("requests", _JSONL)})
        UNION ALL
        SELECT line, idx, json_extract_string(item, '$.features[*]') AS v
        FROM ({_duck_items("requests", "application/json", "instances")})"""
    )
    con.execute(
        f"""CREATE TEMP TABLE outputs AS
        SELECT line, idx, CAST(item AS DOUBLE) AS output_0, NULL::DOUBLE AS score,
               NULL::BIGINT AS predicted_label FROM ({_duck_items("responses", _CSV)})
        UNION ALL
        SELECT line, idx, NULL, CAST(item ->> '$.score' AS DOUBLE), NULL
        FROM ({_duck_items("responses", _JSONL)})
        UNION ALL
        SELECT line, idx, NULL, CAST(item ->> '$.score' AS DOUBLE),
               CAST(item ->> '$.predicted_label' AS BIGINT)
        FROM ({_duck_items("responses", "application/json", "predictions")})"""
    )
    width = _duck_one(con, "SELECT max(len(v)) FROM inputs")
    numeric = [
        _duck_one(con, f"SELECT count(v[{i}]) = count(TRY_CAST(v[{i}] AS DOUBLE)) FROM inputs")
        for i in range(1, width + 1)
    ]
    features = ", ".join(
        f"CAST(v[{i + 1}] AS DOUBLE) AS input_{i}" if number else f"v[{i + 1}] AS input_{i}"
        for i, number in enumerate(numeric)
    )
    base = "coalesce(nullif(eventMetadata.inferenceId, ''), eventMetadata.eventId)"
    return con.execute(
        f"""SELECT CASE WHEN count(*) OVER (PARTITION BY line) > 1
                        THEN {base} || '_' || CAST(idx AS VARCHAR) ELSE {base} END
                   AS partner_inference_id,
                   CAST(eventMetadata.inferenceTime AS TIMESTAMPTZ) AS inference_timestamp,
                   {features}, output_0, score, predicted_label
            FROM inputs FULL JOIN outputs USING (line, idx) LEFT JOIN events USING (line)
            ORDER BY line, idx"""
    ).df()


def _duck_one(con: duckdb.DuckDBPyConnection, query: str) -> Any:
    row = con.execute(query).fetchone()
    assert row is not None
    return row[0]


def duckdb_path(path: str) -> Result:
    """``read_ndjson`` and SQL (``string_split``, ``json_extract``, ``unnest``, joins) → pandas."""
    frame = duckdb_frame(path)
    return len(frame), len(frame.columns)


# 7. ours_dataframe -----------------------------------------------------------------------------


def ours_dataframe(path: str) -> Result:
    """``arthur_capture.to_dataframe(FILE)``."""
    import arthur_capture

    frame = arthur_capture.to_dataframe(path).frame
    return len(frame), len(frame.columns)


PATHS: dict[str, Callable[[str], Result]] = {
    "orjson_only": orjson_only,
    "orjson_split": orjson_split,
    "naive_stdlib": naive_stdlib,
    "pandas_idiomatic": pandas_idiomatic,
    "polars": polars,
    "duckdb": duckdb_path,
    "ours_dataframe": ours_dataframe,
}


def main(argv: list[str]) -> int:
    """Run one path: ``NAME FILE``."""
    if len(argv) != 2 or argv[0] not in PATHS:
        print(f"usage: paths.py {{{','.join(PATHS)}}} FILE", file=sys.stderr)
        return 2
    name, path = argv
    records, columns = PATHS[name](path)
    if name == "orjson_only":
        print(f"lines={records}")
    else:
        print(f"records={records} columns={columns}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
