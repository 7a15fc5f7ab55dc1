"""Arthur inference objects as JSON lines or one JSON array: for the CLI, files and uploads.

The ``NewInference`` shape (:mod:`arthur_capture.arthur.contract`) that Arthur's
``POST /inferences`` takes, and that its ``/inferences/file`` endpoint takes as JSON.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Literal, Self

from arthur_capture._json import dumps_json
from arthur_capture.arthur.contract import inference_object, new_inference
from arthur_capture.records import named_values, partner_inference_id

if TYPE_CHECKING:
    from collections.abc import Iterator

    from arthur_capture.records import Call, InferenceRecord

__all__ = ["InferenceWriter", "arthur_json", "call_json"]


def arthur_json(record: InferenceRecord, *, batch_id: str | None = None) -> bytes:
    """One record as ``NewInference`` JSON (no trailing newline); NaN/±Infinity → null."""
    return dumps_json(new_inference(record, batch_id=batch_id))


def call_json(call: Call, *, batch_id: str | None = None) -> Iterator[bytes]:
    """The ``NewInference`` JSON of every inference of a decoded call, one at a time.

    Byte for byte what :func:`arthur_json` gives for each of ``call.records()``, built
    without the records and made as it is asked for (a call of millions of inferences
    streams in flat memory): the streaming fast path of ``arthur-capture convert``.
    """
    meta = call.event.event_metadata
    when = meta.inference_time
    base = call.base_id
    count = call.count
    inputs = call.inputs
    outputs = call.outputs
    for index in range(count):
        data = named_values(inputs[index], "input_") if inputs is not None else {}
        if outputs is not None:
            data = {**data, **named_values(outputs[index], "output_")}
        body = inference_object(
            partner_inference_id(base, index, count), when, data, batch_id=batch_id
        )
        yield dumps_json(body)


class InferenceWriter:
    """Streams ``NewInference`` objects to a binary file, as JSON lines or as one JSON array.

    Holds one record at a time, so memory stays flat however many records pass.

    Args:
        out: A binary file object (opened ``"wb"``).
        format: ``"jsonl"`` (one object per line) or ``"json"`` (one array, what
            ``POST /inferences`` and the JSON form of ``/inferences/file`` take).
        batch_id: Added to every object, for batch models.
    """

    __slots__ = ("_batch_id", "_format", "_out", "count")

    def __init__(
        self,
        out: IO[bytes],
        *,
        format: Literal["jsonl", "json"] = "jsonl",  # noqa: A002 - the natural name here
        batch_id: str | None = None,
    ) -> None:
        """Start writing to ``out``."""
        if format not in ("jsonl", "json"):
            msg = f"format must be 'jsonl' or 'json', not {format!r}"
            raise ValueError(msg)
        self._out = out
        self._format = format
        self._batch_id = batch_id
        self.count = 0
        """How many records were written."""

    def write(self, record: InferenceRecord) -> None:
        """Write one record."""
        self.write_json(arthur_json(record, batch_id=self._batch_id))

    def write_json(self, data: bytes) -> None:
        """Write one ``NewInference`` object already serialised (see :func:`call_json`)."""
        if self._format == "jsonl":
            self._out.write(data + b"\n")
        else:
            self._out.write((b"[" if self.count == 0 else b",\n") + data)
        self.count += 1

    def close(self) -> None:
        """Finish the output (closes the JSON array); does not close the file."""
        if self._format == "json":
            self._out.write(b"]\n" if self.count else b"[]\n")

    def __enter__(self) -> Self:
        """Use as a context manager; :meth:`close` runs on exit."""
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        """Finish the output, unless the block raised: a cut array must not look complete."""
        if exc_type is None:
            self.close()
