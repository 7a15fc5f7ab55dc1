"""Seeded generator of realistic SageMaker Data Capture files for benchmarks.

Mix per call (by weight): CSV in / CSV out (one value per line, post-2022 XGBoost),
CSV in / JSON predictions out, JSON instances/features in / JSON predictions maps out,
JSON Lines in and out, BASE64 JSON in / BASE64 CSV out; batches of 1-10 inferences,
20 features, about half the calls with an inferenceId.

With ``--mixed-text`` two of the 20 features hold words instead of numbers (``x2`` a colour,
``x19`` a status; see :data:`TEXT_COLUMNS`), in every layout: the CSV bodies then mix text and
numbers (so an all-numeric CSV fast path gives up on them) and the JSON ``features`` lists mix
strings and numbers. ``benchmarks/generated-mixed.model.json`` is the Arthur model that fits.

    python benchmarks/generate.py OUT.jsonl --size-mb 100 [--seed 7] [--gzip] [--mixed-text]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import orjson

FEATURES = 20
#: ``--mixed-text``: feature position -> the words it holds (no commas, quotes or spaces).
TEXT_COLUMNS: dict[int, tuple[str, ...]] = {
    2: ("red", "green", "blue", "amber", "violet", "teal"),
    19: ("ok", "retry", "pending", "failed"),
}

Value = float | int | str


def _row(rng: random.Random, mixed: bool = False) -> list[Value]:
    values: list[Value] = [rng.randint(0, 120), rng.randint(0, 1)]
    values += [round(rng.gauss(50, 20), 4) for _ in range(FEATURES - 2)]
    if mixed:
        for position, words in TEXT_COLUMNS.items():
            values[position] = rng.choice(words)
    return values


def _csv(rows: list[list[Value]]) -> str:
    return "\n".join(",".join(str(v) for v in row) for row in rows)


def _side(content_type: str, data: str, encoding: str, mode: str) -> dict[str, str]:
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def make_line(rng: random.Random, when: datetime, mixed: bool = False) -> bytes:
    """One capture line; ``mixed``: the features of :data:`TEXT_COLUMNS` hold words."""
    batch = rng.randint(1, 10)
    rows = [_row(rng, mixed) for _ in range(batch)]
    scores = [round(rng.random(), 6) for _ in range(batch)]
    kind = rng.choices(["csv_csv", "csv_json", "json_json", "jsonl", "base64"], [4, 2, 2, 1, 1])[0]
    if kind == "csv_csv":
        request = _side("text/csv", _csv(rows), "CSV", "INPUT")
        response = _side(
            "text/csv; charset=utf-8", "".join(f"{s}\n" for s in scores), "CSV", "OUTPUT"
        )
    elif kind == "csv_json":
        request = _side("text/csv", _csv(rows), "CSV", "INPUT")
        body = {"predictions": [{"score": s, "predicted_label": int(s > 0.5)} for s in scores]}
        response = _side("application/json", orjson.dumps(body).decode(), "JSON", "OUTPUT")
    elif kind == "json_json":
        body_in = {"instances": [{"features": row} for row in rows]}
        request = _side("application/json", orjson.dumps(body_in).decode(), "JSON", "INPUT")
        body = {"predictions": [{"score": s, "predicted_label": int(s > 0.5)} for s in scores]}
        response = _side("application/json", orjson.dumps(body).decode(), "JSON", "OUTPUT")
    elif kind == "jsonl":
        text_in = "\n".join(orjson.dumps({"features": row}).decode() for row in rows)
        text_out = "".join(orjson.dumps({"score": s}).decode() + "\n" for s in scores)
        request = _side("application/jsonlines", text_in, "JSON", "INPUT")
        response = _side("application/jsonlines", text_out, "JSON", "OUTPUT")
    else:
        body_in = {"instances": [{"features": row} for row in rows]}
        data_in = base64.b64encode(orjson.dumps(body_in)).decode()
        data_out = base64.b64encode("".join(f"{s}\n" for s in scores).encode()).decode()
        request = _side("application/json", data_in, "BASE64", "INPUT")
        response = _side("text/csv", data_out, "BASE64", "OUTPUT")
    meta: dict[str, object] = {"eventId": str(uuid.UUID(int=rng.getrandbits(128), version=4))}
    if rng.random() < 0.5:
        meta["inferenceId"] = f"req-{rng.getrandbits(40):010x}"
    meta["inferenceTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "captureData": {"endpointInput": request, "endpointOutput": response},
        "eventMetadata": meta,
        "eventVersion": "0",
    }
    return orjson.dumps(event) + b"\n"


def generate(
    out: IO[bytes], size_bytes: int, seed: int = 7, mixed: bool = False
) -> tuple[int, int]:
    """Write lines until ``size_bytes``; returns (lines, bytes)."""
    rng = random.Random(seed)
    when = datetime(2024, 3, 1, tzinfo=UTC)
    written = lines = 0
    while written < size_bytes:
        line = make_line(rng, when, mixed)
        out.write(line)
        written += len(line)
        lines += 1
        when += timedelta(seconds=rng.randint(0, 2))
    return lines, written


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument(
        "--mixed-text",
        action="store_true",
        help=f"features {sorted(TEXT_COLUMNS)} hold words: CSV bodies mix text and numbers",
    )
    args = parser.parse_args()
    opener = gzip.open if args.gzip else open
    with opener(args.out, "wb") as out:
        lines, size = generate(
            out, int(args.size_mb * 1024 * 1024), args.seed, mixed=args.mixed_text
        )
    print(f"wrote {lines} lines, {size / 1e6:.1f} MB to {args.out}")


if __name__ == "__main__":
    main()
