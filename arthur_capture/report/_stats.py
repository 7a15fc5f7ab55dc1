"""Statistics of a capture, gathered call by call in bounded memory.

:class:`CaptureStats` takes what a reader's :meth:`~arthur_capture.reading.CaptureReader.
iter_calls` gives, one item at a time, and keeps only fixed-size summaries: counters whose
keys are capped (:data:`MAX_KEYS`; later keys are counted as ``(other)``), a few example
rejects per reason, and per model attribute streaming counts, minimum and maximum plus a
uniform sample of at most :data:`SAMPLE_SIZE` values (for the histogram). Nothing grows with
the number of lines read.
"""

from __future__ import annotations

import ast
import math
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from arthur_capture.errors import Reason
from arthur_capture.records import InferenceRecord, Reject

if TYPE_CHECKING:
    from collections.abc import Hashable, Iterable

    from arthur_capture.arthur.schema import Attribute, ModelSchema
    from arthur_capture.records import Call

__all__ = [
    "EXAMPLES_PER_REASON",
    "MAX_KEYS",
    "OTHER",
    "SAMPLE_SIZE",
    "AttributeStats",
    "CaptureStats",
    "Example",
    "batch_bin",
    "endpoint_variant",
]

MAX_KEYS: Final = 1000
"""Distinct keys a counter keeps (content types, categories, hours…); later ones are ``(other)``."""
OTHER: Final = "(other)"
"""The key that counts what came after a counter was full."""
SAMPLE_SIZE: Final = 2000
"""Values sampled per numeric attribute (uniformly over the run) for its histogram."""
EXAMPLES_PER_REASON: Final = 3
"""Example rejects kept per reason code."""
MAX_RAW_CHARS: Final = 240
"""How much of a rejected line an example shows."""
MAX_MESSAGE_CHARS: Final = 400
"""How much of a reject's message an example shows."""
MAX_HOUR_KEYS: Final = 20_000
"""(hour, endpoint, variant) buckets kept before the series is counted per day instead."""
NOT_IN_A_KEY: Final = "(not in a SageMaker key)"
"""The endpoint and variant of a source whose path is not laid out as SageMaker writes captures."""
MAPPING_REASONS: Final = frozenset(
    {
        Reason.UNKNOWN_ATTRIBUTE,
        Reason.MISSING_ATTRIBUTE,
        Reason.RESERVED_NAME,
        Reason.INVALID_VALUE,
        Reason.NAME_CONFLICT,
    }
)
"""The reasons a model schema's mapping gives (the attributes that failed)."""

_SAGEMAKER_KEY: Final = re.compile(
    r"(?:^|/)(?P<endpoint>[^/]+)/(?P<variant>[^/]+)/\d{4}/\d{2}/\d{2}/\d{2}/[^/]+$"
)
_K = TypeVar("_K", bound="Hashable")
_Hour = tuple[datetime, str, str]
_EXACT_BATCHES: Final = 10
_QUOTED: Final = r"(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
_PREFIX: Final = re.compile(r"inference \d+ \(.*?\): ", re.DOTALL)
_ONE_NAME: Final = (
    re.compile(rf"^attribute (?P<name>{_QUOTED}) \("),  # invalid_value
    re.compile(rf"^the model has no attribute named (?P<name>{_QUOTED})"),
    re.compile(rf"^the model has no \w+ attribute at position \d+ \(for (?P<name>{_QUOTED})\)"),
    re.compile(rf"^(?P<name>{_QUOTED}) names a \w+ attribute"),
    re.compile(rf"^(?P<name>{_QUOTED}) is a reserved name"),
)
_MISSING: Final = re.compile(
    r"^the (?:request|response) has no value for attribute\(s\) (?P<names>.*?)"
    r"(?: \(\+\d+ more\))?$",
    re.DOTALL,
)
_BOTH: Final = re.compile(r"^attribute\(s\) (?P<names>.*) get a value from both", re.DOTALL)
UNATTRIBUTED: Final = "(not named in the message)"
"""The attribute of a mapping reject whose message names none."""


def endpoint_variant(source: str) -> tuple[str, str]:
    """The endpoint and variant of a source's SageMaker key.

    Keys look like ``…/ENDPOINT/VARIANT/yyyy/mm/dd/hh/NAME``.

    A source laid out otherwise gives :data:`NOT_IN_A_KEY` twice.
    """
    found = _SAGEMAKER_KEY.search(source.replace("\\", "/"))
    if found is None:
        return NOT_IN_A_KEY, NOT_IN_A_KEY
    return found["endpoint"], found["variant"]


def batch_bin(size: int) -> tuple[int, int]:
    """The batch-size bin of ``size``: itself up to 10, then ``11-16``, ``17-32``, ``33-64``."""
    if size <= _EXACT_BATCHES:
        return size, size
    high = 16
    while high < size:
        high *= 2
    return max(high // 2 + 1, _EXACT_BATCHES + 1), high


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ``…`` marking a cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CappedCounter(Generic[_K]):
    """A :class:`~collections.Counter` of ``limit`` keys at most; later keys count as overflow."""

    __slots__ = ("counts", "limit", "overflow")

    def __init__(self, limit: int = MAX_KEYS) -> None:
        """An empty counter keeping ``limit`` keys."""
        self.counts: Counter[_K] = Counter()
        self.limit = limit
        self.overflow = 0
        """What was counted after the counter was full, under keys it did not hold."""

    def add(self, key: _K, count: int = 1) -> None:
        """Count ``key``."""
        counts = self.counts
        if key in counts or len(counts) < self.limit:
            counts[key] += count
        else:
            self.overflow += count

    @property
    def full(self) -> bool:
        """Whether later keys are counted as ``(other)``."""
        return len(self.counts) >= self.limit

    def most_common(self, n: int | None = None) -> list[tuple[_K, int]]:
        """The ``n`` most common keys, ties in first-seen order."""
        return self.counts.most_common(n)


@dataclass(frozen=True, slots=True)
class Example:
    """One rejected line or inference, shortened for the page."""

    reason: str
    source: str
    line_number: int
    index: int | None
    message: str
    raw: str
    raw_bytes: int


class AttributeStats:
    """Streaming summary of one model attribute's values (after mapping and coercion)."""

    __slots__ = (
        "_next",
        "_random",
        "_weight",
        "attribute",
        "count",
        "falses",
        "high",
        "low",
        "nulls",
        "sample",
        "seen",
        "top",
        "total",
        "trues",
    )

    def __init__(self, attribute: Attribute, seed: int = 0) -> None:
        """An empty summary of ``attribute``."""
        self.attribute = attribute
        self.count = 0
        """Values seen, nulls included."""
        self.nulls = 0
        self.total = 0.0
        self.low: Any = None
        self.high: Any = None
        self.trues = 0
        self.falses = 0
        self.top: CappedCounter[str] = CappedCounter()
        self.sample: list[float] = []
        """A uniform sample of the finite numbers seen (Algorithm L), up to :data:`SAMPLE_SIZE`."""
        self.seen = 0
        """Numbers seen (the sample's population)."""
        self._random = random.Random(seed)  # noqa: S311 - a sample, not a secret
        self._weight = 1.0
        self._next = SAMPLE_SIZE

    @property
    def numeric(self) -> bool:
        """Whether the attribute holds numbers (``INTEGER`` or ``FLOAT``)."""
        return str(self.attribute.value_type) in ("INTEGER", "FLOAT")

    @property
    def mean(self) -> float | None:
        """The mean of the numbers seen."""
        return self.total / self.seen if self.seen else None

    def add(self, value: Any) -> None:
        """Count one value."""
        self.count += 1
        if value is None:
            self.nulls += 1
            return
        if value is True:
            self.trues += 1
            return
        if value is False:
            self.falses += 1
            return
        if isinstance(value, (int, float)):
            self._number(value)
            return
        if isinstance(value, datetime):
            self._ordered(value)
            return
        if isinstance(value, str):
            self.top.add(value)
            return
        self.top.add(_short_repr(value))

    def _ordered(self, value: Any) -> None:
        try:
            if self.low is None or value < self.low:
                self.low = value
            if self.high is None or value > self.high:
                self.high = value
        except TypeError:  # a mix of naive and aware times cannot be ordered: keep the first
            pass

    def _number(self, value: float) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            return
        if self.low is None or value < self.low:
            self.low = value
        if self.high is None or value > self.high:
            self.high = value
        self.total += value
        self.seen += 1
        sample = self.sample
        if len(sample) < SAMPLE_SIZE:
            sample.append(float(value))
            if len(sample) == SAMPLE_SIZE:
                self._skip()
        elif self.seen == self._next:
            sample[self._random.randrange(SAMPLE_SIZE)] = float(value)
            self._skip()

    def _skip(self) -> None:
        """Algorithm L: when the next sampled value comes (one random draw per replacement)."""
        draw = self._random.random
        self._weight *= math.exp(math.log(draw() or 1e-300) / SAMPLE_SIZE)
        if self._weight >= 1.0:  # pragma: no cover - float rounding
            self._weight = 1.0 - 1e-12
        gap = math.floor(math.log(draw() or 1e-300) / math.log1p(-self._weight))
        self._next = self.seen + gap + 1

    def histogram(self, bins: int = 20) -> list[dict[str, float]]:
        """The sample in ``bins`` equal bins between the exact minimum and maximum, as shares."""
        sample = self.sample
        if not sample or self.low is None or self.high is None:
            return []
        low, high = float(self.low), float(self.high)
        if self.attribute.value_type == "INTEGER" and high - low + 1 <= bins:
            bins = int(high - low + 1)
            width = 1.0
            low -= 0.5
        else:
            width = (high - low) / bins if high > low else 1.0
        counts = [0] * bins
        for value in sample:
            position = int((value - low) / width) if width else 0
            counts[min(max(position, 0), bins - 1)] += 1
        size = len(sample)
        return [
            {"start": low + i * width, "end": low + (i + 1) * width, "share": counts[i] / size}
            for i in range(bins)
        ]


def _short_repr(value: Any) -> str:
    text = repr(value)
    return shorten(text, 80)


@dataclass(slots=True)
class AttributeFailure:
    """How often one attribute made the mapping refuse an inference, for one reason."""

    count: int = 0
    example: str = ""


@dataclass(slots=True)
class CaptureStats:
    """What a report shows, gathered one item of ``iter_calls`` at a time (see :meth:`add`).

    Args:
        schema: The model the reader maps onto; with it, each attribute's values are
            summarised and mapping rejects are traced to attributes.
    """

    schema: ModelSchema | None = None
    hourly: CappedCounter[_Hour] = field(default_factory=lambda: CappedCounter(MAX_HOUR_KEYS))
    """Inferences by (hour or day, endpoint, variant)."""
    per_day: bool = False
    """Whether :attr:`hourly` counts days (it held too many hours)."""
    content_types: CappedCounter[tuple[str, str, str]] = field(default_factory=CappedCounter)
    """Calls by (side, observed content type, encoding)."""
    batches: Counter[tuple[int, int]] = field(default_factory=Counter)
    """Calls by batch-size bin (:func:`batch_bin`)."""
    largest_batch: int = 0
    calls: int = 0
    inferences: int = 0
    first_time: datetime | None = None
    last_time: datetime | None = None
    examples: dict[str, list[Example]] = field(default_factory=dict)
    """Up to :data:`EXAMPLES_PER_REASON` rejects per reason."""
    attributes: dict[str, AttributeStats] = field(default_factory=dict)
    failures: dict[tuple[str, str], AttributeFailure] = field(default_factory=dict)
    """Mapping rejects by (attribute, reason)."""
    failures_overflow: int = 0
    sources: list[str] = field(default_factory=list)
    """The first :data:`MAX_KEYS` source names."""
    _source: str = ""
    _place: tuple[str, str] = ("", "")

    def __post_init__(self) -> None:
        """Index the schema's sent attributes."""
        if self.schema is not None:
            from arthur_capture.arthur.contract import SEND_STAGES  # noqa: PLC0415

            for number, attribute in enumerate(self.schema.attributes):
                if attribute.stage in SEND_STAGES:
                    self.attributes[attribute.name] = AttributeStats(attribute, seed=number)

    def add(self, item: Call | Reject) -> None:
        """Count one item of a reader's ``iter_calls``."""
        if isinstance(item, Reject):
            self._reject(item)
            return
        self.calls += 1
        count = item.count
        self.inferences += count
        if item.source != self._source:
            self._source = item.source
            self._place = endpoint_variant(item.source)
            if len(self.sources) < MAX_KEYS:
                self.sources.append(item.source)
        event = item.event
        when = event.event_metadata.inference_time.astimezone(UTC)
        if self.first_time is None or when < self.first_time:
            self.first_time = when
        if self.last_time is None or when > self.last_time:
            self.last_time = when
        self._hour(when, count)
        data = event.capture_data
        for side, captured in (
            ("request", data.endpoint_input),
            ("response", data.endpoint_output),
        ):
            if captured is not None:
                content_type = captured.observed_content_type
                self.content_types.add(
                    (
                        side,
                        "(none)" if content_type is None else content_type,
                        str(captured.encoding),
                    )
                )
        self.batches[batch_bin(count)] += 1
        self.largest_batch = max(self.largest_batch, count)
        outcomes = item.outcomes
        if outcomes is None:
            if self.attributes:  # pragma: no cover - a reader with a schema always sets outcomes
                for record in item.iter_records():
                    self._values(record)
            return
        for outcome in outcomes:
            if isinstance(outcome, Reject):
                self._reject(outcome)
            elif self.attributes:
                self._values(outcome)

    def add_all(self, items: Iterable[Call | Reject]) -> None:
        """:meth:`add` each item."""
        for item in items:
            self.add(item)

    def _hour(self, when: datetime, count: int) -> None:
        bucket = when.replace(minute=0, second=0, microsecond=0)
        if self.per_day:
            bucket = bucket.replace(hour=0)
        key = (bucket, *self._place)
        if self.hourly.full and key not in self.hourly.counts and not self.per_day:
            self._to_days()
            key = (bucket.replace(hour=0), *self._place)
        self.hourly.add(key, count)

    def _to_days(self) -> None:
        """Count per day from now on (the run spans too many hours to chart them all)."""
        days: Counter[_Hour] = Counter()
        for (bucket, endpoint, variant), count in self.hourly.counts.items():
            days[bucket.replace(hour=0), endpoint, variant] += count
        self.hourly.counts = days
        self.per_day = True

    def _values(self, record: InferenceRecord) -> None:
        attributes = self.attributes
        for values in (record.inputs, record.outputs):
            for name, value in values.items():
                stats = attributes.get(name)
                if stats is not None:
                    stats.add(value)

    def _reject(self, reject: Reject) -> None:
        reason = str(reject.reason)
        kept = self.examples.setdefault(reason, [])
        if len(kept) < EXAMPLES_PER_REASON:
            raw = reject.raw[: MAX_RAW_CHARS * 4].decode("utf-8", errors="replace")
            kept.append(
                Example(
                    reason=reason,
                    source=reject.source,
                    line_number=reject.line_number,
                    index=reject.index,
                    message=shorten(reject.message, MAX_MESSAGE_CHARS),
                    raw=shorten(raw, MAX_RAW_CHARS),
                    raw_bytes=len(reject.raw),
                )
            )
        if (
            self.schema is not None
            and reject.index is not None
            and reject.reason in MAPPING_REASONS
        ):
            message = shorten(reject.message, MAX_MESSAGE_CHARS)
            for name in failed_attributes(reject.message):
                key = (name, reason)
                failure = self.failures.get(key)
                if failure is None:
                    if len(self.failures) >= MAX_KEYS:
                        self.failures_overflow += 1
                        continue
                    failure = self.failures[key] = AttributeFailure(example=message)
                failure.count += 1


def _names(text: str) -> list[str]:
    return [name for name in text.split(", ") if name]


def _unquoted(text: str) -> str:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):  # pragma: no cover - the pattern only matches literals
        return text
    return value if isinstance(value, str) else text


def failed_attributes(message: str) -> list[str]:
    """The attribute (or value) names a mapping reject's message blames.

    The messages are :class:`~arthur_capture.arthur.SchemaMapper`'s, after the reader's
    ``inference N (PARTNER_ID): ``; one that names none gives :data:`UNATTRIBUTED`.
    """
    starts = [0]
    if _PREFIX.match(message) is not None:  # the partner ID may itself hold "): "
        starts = [m.end() for m in re.finditer(r"\): ", message)]
    for start in starts:
        text = message[start:]
        for pattern in _ONE_NAME:
            found = pattern.match(text)
            if found is not None:
                return [_unquoted(found["name"])]
        for pattern in (_MISSING, _BOTH):
            found = pattern.match(text)
            if found is not None:
                return _names(found["names"]) or [UNATTRIBUTED]
    return [UNATTRIBUTED]
