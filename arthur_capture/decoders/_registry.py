"""The decoder registry: what a decoder is, and decoders keyed by normalised media type.

The lookup key is the bare, lower-cased media type (:func:`parse_media_type`); entry points
are read lazily, on the first miss. :mod:`arthur_capture.decoders` describes the contract.
"""

from __future__ import annotations

import codecs
import functools
import threading
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from arthur_capture.errors import DecoderRegistryError, InvalidPayloadError, UnknownContentTypeError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "ENTRY_POINT_GROUP",
    "Decoder",
    "DecoderRegistry",
    "Inference",
    "Payload",
    "parse_media_type",
]

ENTRY_POINT_GROUP = "arthur_capture.decoders"
"""The entry-point group third-party packages use to offer decoders."""

Inference = list[Any] | dict[str, Any]
"""One decoded inference: column-ordered values, or a name → value map."""


_NOT_CHARSETS = frozenset({"unicode-escape", "raw-unicode-escape", "undefined"})
"""Python codecs that are not character sets: they interpret backslashes, or always fail."""


def _charset_codec(charset: str) -> str:
    """The codec for a ``charset`` parameter; ``LookupError`` for codecs that are not charsets."""
    name = codecs.lookup(charset).name
    if name in _NOT_CHARSETS:
        raise LookupError(charset)
    return name


def parse_media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """Split a ``Content-Type`` value into its bare lower-cased type and its parameters.

    Args:
        content_type: The header value, e.g. ``"text/csv; charset=UTF-8"``; ``None`` gives ``""``.

    Returns:
        ``("text/csv", {"charset": "UTF-8"})``. Parameter names are lower-cased; values keep
        their case and lose surrounding quotes.
    """
    media_type, params = _parse_media_type(content_type or "")
    return media_type, dict(params)


@functools.lru_cache(maxsize=256)
def _parse_media_type(content_type: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """:func:`parse_media_type`, cached: captures repeat a handful of content types."""
    if not content_type:
        return "", ()
    head, sep, rest = content_type.partition(";")
    media_type = head.strip().lower()
    params: dict[str, str] = {}
    if sep:
        for part in rest.split(";"):
            name, eq, value = part.partition("=")
            if eq:
                params[name.strip().lower()] = value.strip().strip('"')
    return media_type, tuple(params.items())


class Payload:
    """One side's body, handed to a decoder.

    ``text()`` and ``bytes()`` convert between the two forms on demand, honouring the
    content type's ``charset`` (UTF-8 when absent).
    """

    __slots__ = ("_body", "charset", "media_type", "params")

    def __init__(
        self,
        body: str | bytes,
        media_type: str,
        params: Mapping[str, str] | None = None,
    ) -> None:
        """Wrap a body (text for CSV/JSON encodings, bytes for BASE64) and its media type."""
        self._body = body
        self.media_type = media_type
        self.params: Mapping[str, str] = params or {}
        self.charset = self.params.get("charset", "utf-8")

    def text(self) -> str:
        """The body as text, decoded with the charset for byte bodies.

        Raises:
            InvalidPayloadError: The bytes are not valid in the charset, or the charset is unknown.
        """
        body = self._body
        if isinstance(body, str):
            return body
        try:
            codec = _charset_codec(self.charset)
            text = body.decode(codec)
        except LookupError as exc:
            raise InvalidPayloadError(f"unknown charset {self.charset!r}") from exc
        except UnicodeDecodeError as exc:
            raise InvalidPayloadError(
                f"body is not valid {self.charset} at byte {exc.start}: {exc.reason}"
            ) from exc
        except ValueError as exc:  # "undefined" raises UnicodeError; a NUL in the name ValueError
            raise InvalidPayloadError(f"cannot decode the body as {self.charset!r}: {exc}") from exc
        if codec != "utf-8" and not text.isascii():
            try:  # some codecs (utf-7) decode to lone surrogates, which no output can carry
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                msg = f"body decodes ({self.charset}) to an unpaired surrogate at {exc.start}"
                raise InvalidPayloadError(msg) from exc
        return text

    def bytes(self) -> bytes:
        """The body as bytes (text bodies are encoded as UTF-8)."""
        body = self._body
        if isinstance(body, bytes):
            return body
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidPayloadError(f"body holds an unpaired surrogate: {exc.reason}") from exc

    def __repr__(self) -> str:
        """Show the media type and size, not the body."""
        return f"Payload(media_type={self.media_type!r}, size={len(self._body)})"


@runtime_checkable
class Decoder(Protocol):
    """What a decoder provides: the media types it reads and a ``decode`` method."""

    media_types: tuple[str, ...]
    """Bare, lower-case media types this decoder reads; the first is its main type."""

    def decode(self, payload: Payload) -> list[Inference]:
        """Turn one body into an ordered list of inferences.

        Raises:
            InvalidPayloadError: The body cannot be read. Never any other exception.
        """
        ...


class DecoderRegistry:
    """Decoders keyed by normalised media type.

    Args:
        decoders: The decoders to start with.
        load_entry_points: Whether a lookup miss reads the ``arthur_capture.decoders``
            entry-point group (once, lazily).
    """

    def __init__(self, *decoders: Decoder, load_entry_points: bool = False) -> None:
        """Build a registry holding ``decoders``."""
        self._decoders: dict[str, Decoder] = {}
        self._load_entry_points = load_entry_points
        self._entry_points_loaded = False
        self._lock = threading.Lock()
        for decoder in decoders:
            self.register(decoder)

    @property
    def decoders(self) -> Mapping[str, Decoder]:
        """A read-only view of media type → decoder."""
        return MappingProxyType(self._decoders)

    def register(
        self,
        decoder: Decoder,
        *,
        media_types: Iterable[str] | None = None,
        replace: bool = False,
    ) -> None:
        """Register ``decoder`` for its media types (or for ``media_types``).

        Raises:
            DecoderRegistryError: A type already has a decoder and ``replace`` is false,
                or the decoder has no media type.
        """
        types = [parse_media_type(t)[0] for t in (media_types or decoder.media_types)]
        if not types or not all(types):
            raise DecoderRegistryError(f"decoder {decoder!r} names no media type")
        clashes = [t for t in types if t in self._decoders and self._decoders[t] is not decoder]
        if clashes and not replace:
            raise DecoderRegistryError(
                f"a decoder is already registered for {', '.join(clashes)}; "
                "pass replace=True to replace it"
            )
        for media_type in types:
            self._decoders[media_type] = decoder

    def unregister(self, media_type: str) -> None:
        """Remove the decoder for ``media_type``.

        Raises:
            DecoderRegistryError: Nothing is registered for it.
        """
        key = parse_media_type(media_type)[0]
        if key not in self._decoders:
            raise DecoderRegistryError(f"no decoder is registered for {key!r}")
        del self._decoders[key]

    def get(self, content_type: str | None) -> Decoder:
        """The decoder for a content type (parameters and case ignored).

        Raises:
            UnknownContentTypeError: None is registered; the message lists the known types.
        """
        media_type = _parse_media_type(content_type or "")[0]
        decoder = self._decoders.get(media_type)
        if decoder is None and self._load_entry_points and not self._entry_points_loaded:
            self.load_entry_points()
            decoder = self._decoders.get(media_type)
        if decoder is None:
            known = ", ".join(sorted(self._decoders))
            shown = media_type or "(no content type)"
            raise UnknownContentTypeError(f"no decoder for {shown}; known types: {known}")
        return decoder

    def __contains__(self, content_type: object) -> bool:
        """Whether a decoder is registered for ``content_type`` (no entry points are loaded)."""
        return isinstance(content_type, str) and parse_media_type(content_type)[0] in self._decoders

    def load_entry_points(self) -> None:
        """Register decoders offered through the ``arthur_capture.decoders`` entry points.

        Each entry point names a decoder instance, or a class or factory called with no
        arguments. Types already registered in code keep their decoder.

        Raises:
            DecoderRegistryError: An entry point cannot be loaded or is not a decoder.
        """
        with self._lock:
            if self._entry_points_loaded:
                return
            self._entry_points_loaded = True
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                try:
                    obj: Any = ep.load()
                    decoder = obj() if isinstance(obj, type) or not hasattr(obj, "decode") else obj
                except Exception as exc:
                    msg = f"cannot load decoder entry point {ep.name!r} ({ep.value}): {exc}"
                    raise DecoderRegistryError(msg) from exc
                if not isinstance(decoder, Decoder):
                    msg = f"entry point {ep.name!r} ({ep.value}) is not a decoder"
                    raise DecoderRegistryError(msg)
                for media_type in decoder.media_types:
                    key = parse_media_type(media_type)[0]
                    self._decoders.setdefault(key, decoder)

    def __repr__(self) -> str:
        """List the registered media types."""
        return f"DecoderRegistry({sorted(self._decoders)})"
