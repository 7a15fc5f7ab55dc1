"""S3 capture sources: ``s3://`` objects and prefixes, turned into lazily opened named streams.

:func:`expand_sources` lists a prefix's ``.jsonl`` and ``.jsonl.gz`` objects (optionally only
those of one endpoint, one variant or a time window, from SageMaker's key layout
``{prefix}/{endpoint}/{variant}/yyyy/mm/dd/hh/{name}``) and gives each as
``Named(stream, "s3://bucket/key")``. A stream opens its object on its first read and closes
it at the end, so listing thousands of objects opens none of them up front.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from arthur_capture.errors import StorageError
from arthur_capture.reading import Named
from arthur_capture.storage._s3 import (
    CAPTURE_SUFFIXES,
    S3Location,
    is_s3_uri,
    list_objects,
    open_object,
    s3_client,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from arthur_capture.reading import Source

__all__ = ["LazyObject", "S3Selection", "expand_sources", "parse_time"]

_LAYOUT_PARTS: Final = 7
"""``endpoint/variant/yyyy/mm/dd/hh/name``: the last parts of a SageMaker capture key."""
_HOUR: Final = timedelta(hours=1)


def parse_time(value: datetime | str, what: str = "time") -> datetime:
    """An aware datetime from a datetime or ISO 8601 text; without an offset it is UTC.

    Raises:
        ValueError: The text is not an ISO 8601 date or time.
    """
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            msg = f"{what} {value!r} is not an ISO 8601 time (e.g. 2024-05-01T13:00Z)"
            raise ValueError(msg) from None
    else:
        moment = value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class S3Selection:
    """Which listed capture objects to keep, by SageMaker's key layout.

    Keys look like ``{prefix}/{endpoint}/{variant}/yyyy/mm/dd/hh/{name}`` (the hour in UTC).
    With no option set every listed object is kept; with any, only keys in that layout that
    match every option given (a key not in the layout is then left out).
    """

    endpoint: str | None = None
    """Only this endpoint's objects."""
    variant: str | None = None
    """Only this variant's objects."""
    since: datetime | None = None
    """Only hour folders ending after this (aware; see :func:`parse_time`)."""
    until: datetime | None = None
    """Only hour folders starting before this."""

    @classmethod
    def of(
        cls,
        *,
        endpoint: str | None = None,
        variant: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> S3Selection:
        """A selection, times parsed (ISO text, or naive datetimes, are taken as UTC).

        Raises:
            ValueError: A time is not ISO 8601 text.
        """
        return cls(
            endpoint or None,
            variant or None,
            parse_time(since, "since") if since is not None else None,
            parse_time(until, "until") if until is not None else None,
        )

    @property
    def empty(self) -> bool:
        """Whether nothing is selected on (every object is kept)."""
        return self.endpoint is None and self.variant is None and not self._timed

    @property
    def _timed(self) -> bool:
        return self.since is not None or self.until is not None

    def keeps(self, key: str) -> bool:
        """Whether the object at ``key`` is selected."""
        if self.empty:
            return True
        parts = key.split("/")
        if len(parts) < _LAYOUT_PARTS:
            return False
        endpoint, variant, year, month, day, hour = parts[-_LAYOUT_PARTS:-1]
        if self.endpoint is not None and endpoint != self.endpoint:
            return False
        if self.variant is not None and variant != self.variant:
            return False
        digits = (year, month, day, hour)
        if [len(d) for d in digits] != [4, 2, 2, 2] or not all(d.isdigit() for d in digits):
            return False
        try:
            start = datetime(int(year), int(month), int(day), int(hour), tzinfo=UTC)
        except ValueError:
            return False
        if self.since is not None and start + _HOUR <= self.since:
            return False
        return not (self.until is not None and start >= self.until)

    def describe(self) -> str:
        """The options in words (``""`` when empty)."""
        words = []
        if self.endpoint is not None:
            words.append(f"endpoint {self.endpoint!r}")
        if self.variant is not None:
            words.append(f"variant {self.variant!r}")
        if self.since is not None:
            words.append(f"since {self.since.isoformat()}")
        if self.until is not None:
            words.append(f"until {self.until.isoformat()}")
        return ", ".join(words)


class LazyObject:
    """An S3 object's body, opened on the first read and closed at its end (or by :meth:`close`).

    Failures (a missing object, access denied, a broken connection) are
    :class:`~arthur_capture.errors.StorageError`, an ``OSError`` the reader reports as a
    :class:`~arthur_capture.errors.SourceError` naming the object.
    """

    __slots__ = ("_body", "_client", "_done", "location")

    def __init__(self, location: S3Location, *, client: Any = None) -> None:
        """The object at ``location`` (read with ``client``, else a client from the environment)."""
        self.location = location
        """Where the object is."""
        self._client = client
        self._body: Any = None
        self._done = False

    @property
    def name(self) -> str:
        """``s3://bucket/key``."""
        return self.location.uri

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (all that is left for ``-1``); ``b""`` at the end."""
        if self._done:
            return b""
        if self._body is None:
            self._body = open_object(self.location, client=self._client)
        data: bytes = self._body.read(size)
        if size < 0 or (not data and size != 0):  # the whole rest, or the end: done
            self.close()
        return data

    def close(self) -> None:
        """Release the object's connection (reading again gives ``b""``)."""
        self._done = True
        body, self._body = self._body, None
        if body is not None:
            body.close()

    def __repr__(self) -> str:
        """``LazyObject('s3://bucket/key')``."""
        return f"LazyObject({self.name!r})"


def _objects(
    location: S3Location, selection: S3Selection, client: Any, page_size: int | None
) -> list[S3Location]:
    """The capture objects a URI names: itself (an object's name), or those under a prefix."""
    if location.key.endswith(CAPTURE_SUFFIXES):
        return [location]
    key = location.key
    folder = S3Location(location.bucket, key if not key or key.endswith("/") else key + "/")
    found = [
        obj.location
        for obj in list_objects(
            folder, suffixes=CAPTURE_SUFFIXES, client=client, page_size=page_size
        )
        if selection.keeps(obj.location.key)
    ]
    if not found:
        chosen = f" for {selection.describe()}" if not selection.empty else ""
        msg = f"no capture objects (*.jsonl, *.jsonl.gz) under {folder.uri}{chosen}"
        raise StorageError(msg)
    return found


def expand_sources(
    items: Iterable[Any],
    *,
    endpoint: str | None = None,
    variant: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    client: Any = None,
    page_size: int | None = None,
) -> list[Source]:
    """The sources ``items`` name, with every ``s3://`` URI turned into its objects.

    - ``s3://bucket/key.jsonl`` (or ``.jsonl.gz``) is that one object, whatever the options.
    - Any other ``s3://bucket/prefix`` is a folder (``/`` added when missing; ``s3://bucket``
      is the whole bucket): its ``.jsonl`` and ``.jsonl.gz`` objects, in key order.
    - ``endpoint``, ``variant``, ``since`` and ``until`` select among listed objects by
      SageMaker's key layout ``{prefix}/{endpoint}/{variant}/yyyy/mm/dd/hh/{name}``: an object
      is kept when its endpoint and variant are those named and its hour folder (UTC)
      overlaps ``[since, until)``. Times are aware datetimes or ISO 8601 text (without an
      offset: UTC). **Keys not in that layout are kept only when no option is given.**
    - Lists and tuples are flattened; every other item (paths, streams, ``Named``...) is
      passed through unchanged. ``-`` is not standard input here (the command line does that).

    Each object becomes ``Named(stream, "s3://bucket/key")``; the stream (a
    :class:`LazyObject`) opens the object on its first read and closes it at its end, so
    nothing is opened here. Listing uses ``client`` (else one from the environment, which
    honours ``AWS_ENDPOINT_URL``), ``page_size`` keys per request.

    Raises:
        StorageError: A prefix cannot be listed, or holds no selected capture object (the
            message names the prefix and the selection).
        ValueError: A time is not ISO 8601 text.
        MissingDependencyError: boto3 is not installed (only when an ``s3://`` URI is given).
    """
    selection = S3Selection.of(endpoint=endpoint, variant=variant, since=since, until=until)
    out: list[Source] = []
    for item in items:
        if isinstance(item, (list, tuple)):
            out.extend(
                expand_sources(
                    item,
                    endpoint=endpoint,
                    variant=variant,
                    since=since,
                    until=until,
                    client=client,
                    page_size=page_size,
                )
            )
        elif is_s3_uri(item):
            location = S3Location.parse(item)
            if client is None:
                client = s3_client()
            out.extend(
                Named(LazyObject(obj, client=client), obj.uri)
                for obj in _objects(location, selection, client, page_size)
            )
        else:
            out.append(item)
    return out
