"""Captures for the report's tests: a hostile one (every text a page shows is an attack)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from tests.helpers import capture_line as event

if TYPE_CHECKING:
    from pathlib import Path

NAUGHTY = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "</script><script>alert(3)</script>",
    "<!-- & &amp; \u2028 \u2029 ' \" `${x}`",
)
"""Strings that break a page that does not escape them."""

ENDPOINT = "ep<b onmouseover=alert(4)>&amp;"
"""An endpoint name (a folder) with markup in it."""

SCHEMA: dict[str, Any] = {
    "id": "<b>model</b>",
    "attributes": [
        {"name": "name", "stage": "PIPELINE_INPUT", "value_type": "STRING", "position": 0},
        {"name": "amount", "stage": "PIPELINE_INPUT", "value_type": "FLOAT", "position": 1},
        {"name": "flag", "stage": "PIPELINE_INPUT", "value_type": "BOOLEAN", "position": 2},
        {"name": "score", "stage": "PREDICTED_VALUE", "value_type": "FLOAT", "position": 0},
    ],
}


def csv_field(text: str) -> str:
    """``text`` as one quoted CSV field."""
    return '"' + text.replace('"', '""') + '"'


def naughty_capture(root: Path) -> tuple[Path, Path]:
    """A capture under ``root/ENDPOINT/<variant>/2024/03/01/09/`` and its model, both hostile.

    Its calls: one row per naughty string (a content type with markup in a parameter), a
    repeated ``inferenceId`` that is markup, a value that fails the model, a request whose
    value name is markup (``unknown_attribute``) and a line that is not JSON, full of markup.
    """
    folder = root / ENDPOINT / "v<1>&" / "2024" / "03" / "01" / "09"
    folder.mkdir(parents=True)
    lines = [
        event(
            f"{csv_field(text)},1.5,true",
            "0.25",
            content_type=f'text/csv; note="{text.replace(chr(34), "")}"',
            event_id=f"e-{number}",
        )
        for number, text in enumerate(NAUGHTY)
    ]
    lines += [
        event('"x",2.5,false', "0.5", event_id="d-1", inference_id=NAUGHTY[1]),
        event('"y",3.5,false', "0.75", event_id="d-2", inference_id=NAUGHTY[1]),
        event(f'"z",{csv_field(NAUGHTY[0])},true', "0.5", event_id="bad-value"),
        event(
            orjson.dumps({NAUGHTY[2]: 1}).decode(),
            orjson.dumps({"score": 0.5}).decode(),
            content_type="application/json",
            encoding="JSON",
            event_id="unknown-name",
        ),
        ('{"' + "".join(NAUGHTY) + '"\n').encode(),
    ]
    capture = folder / "<capture>&.jsonl"
    capture.write_bytes(b"".join(lines))
    schema = root / "model.json"
    schema.write_bytes(orjson.dumps(SCHEMA))
    return capture, schema
