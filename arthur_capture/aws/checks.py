"""Checks of the two AWS documents the integration depends on, as pure functions over JSON.

* :func:`check_capture_config`: an endpoint's Data Capture configuration against the
  integration page's rules: capture enabled, both ``Input`` and ``Output`` captured, sampling
  at 100 %, CSV or JSON content types listed (else SageMaker writes ``BASE64``, which Arthur's
  endpoint refuses), and a destination S3 URI. It reads a ``CreateEndpointConfig`` request, a
  ``DescribeEndpointConfig`` response, their ``DataCaptureConfig`` alone, or a SageMaker Python
  SDK ``DataCaptureConfig`` as JSON (its attribute names, its defaults for what is left out).
* :func:`check_triggers`: a bucket's notification configuration (as
  ``GetBucketNotificationConfiguration`` returns it) for pairs of rules S3 refuses as
  overlapping, and for output prefixes a trigger would fire on (a function that writes where it
  is triggered loops).

A document of another shape raises :class:`~arthur_capture.errors.ConfigError`; a broken rule
is not an error but a :class:`Problem` (or an :class:`Overlap`, a :class:`Loop`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from arthur_capture.errors import ConfigError, brief

__all__ = [
    "CAPTURE_RULES",
    "Loop",
    "Overlap",
    "Problem",
    "Trigger",
    "TriggerReport",
    "capture_config_shape",
    "check_capture_config",
    "check_triggers",
    "load_document",
    "split_prefix",
]

CAPTURE_RULES: Final = (
    "data_capture_config",
    "capture_enabled",
    "capture_modes",
    "sampling_percentage",
    "content_types",
    "destination",
)
"""The rule ids :func:`check_capture_config` reports, in the order it reports them."""

_API_KEYS: Final = frozenset(
    {
        "EnableCapture",
        "InitialSamplingPercentage",
        "DestinationS3Uri",
        "KmsKeyId",
        "CaptureOptions",
        "CaptureContentTypeHeader",
    }
)
_SDK_KEYS: Final = frozenset(
    {
        "enable_capture",
        "sampling_percentage",
        "destination_s3_uri",
        "kms_key_id",
        "capture_options",
        "csv_content_types",
        "json_content_types",
    }
)
_ENDPOINT_CONFIG_KEYS: Final = frozenset(
    {"EndpointConfigName", "ProductionVariants", "DataCaptureConfig"}
)
_SDK_MODES: Final = {"REQUEST": "Input", "RESPONSE": "Output"}
_SHAPES: Final = (
    "a CreateEndpointConfig request, a DescribeEndpointConfig response, their DataCaptureConfig, "
    "or a SageMaker Python SDK DataCaptureConfig"
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule of the capture configuration.

    Attributes:
        rule: The rule's id, one of :data:`CAPTURE_RULES`.
        field: The field that breaks it, as the document names it.
        message: One line naming the field, its value and what to set.
    """

    rule: str
    field: str
    message: str

    def __str__(self) -> str:
        """``rule: message``, the line the command prints."""
        return f"{self.rule}: {self.message}"


def load_document(data: bytes | str, source: str) -> Any:
    """Parse ``data`` as one JSON document, or raise :class:`ConfigError` naming ``source``."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        return json.loads(text)
    except UnicodeDecodeError as exc:
        msg = f"{source} is not UTF-8 text (byte {exc.start})"
        raise ConfigError(msg) from None
    except json.JSONDecodeError as exc:
        msg = f"{source} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise ConfigError(msg) from None
    except RecursionError:
        msg = f"{source} nests too deep to be a configuration"
        raise ConfigError(msg) from None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return "a number"


def capture_config_shape(doc: Any) -> str:
    """Which capture configuration ``doc`` is, by name.

    One of ``CreateEndpointConfig``, ``DescribeEndpointConfig``, ``DataCaptureConfig`` (the
    API's, alone) or ``sagemaker.DataCaptureConfig`` (the SDK's, as JSON).

    Raises:
        ConfigError: ``doc`` is none of them.
    """
    if not isinstance(doc, dict):
        msg = f"expected a JSON object ({_SHAPES}), got {_kind(doc)}"
        raise ConfigError(msg)
    keys = set(doc)
    if keys & _ENDPOINT_CONFIG_KEYS:
        described = "EndpointConfigArn" in keys or "CreationTime" in keys
        return "DescribeEndpointConfig" if described else "CreateEndpointConfig"
    if keys & _API_KEYS:
        return "DataCaptureConfig"
    if keys & _SDK_KEYS:
        return "sagemaker.DataCaptureConfig"
    shown = ", ".join(sorted(keys)[:5]) or "no keys"
    msg = f"not a capture configuration ({_SHAPES}): it has {shown}"
    raise ConfigError(msg)


@dataclass(slots=True)
class _Capture:
    """A capture config, whichever shape it came in, with the names its shape uses."""

    names: dict[str, str]
    enabled: bool = True
    sampling: float | None = None
    modes: list[str] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    destination: str | None = None


def _expect(value: Any, kind: type | tuple[type, ...], name: str, wanted: str) -> Any:
    wants_bool = kind is bool
    if value is None or (isinstance(value, kind) and (wants_bool or not isinstance(value, bool))):
        return value
    msg = f"{name} must be {wanted}, not {_kind(value)} {brief(value)}"
    raise ConfigError(msg)


def _require(value: Any, kind: type, name: str, wanted: str) -> Any:
    if value is None:
        msg = f"{name} must be {wanted}, not null"
        raise ConfigError(msg)
    return _expect(value, kind, name, wanted)


def _strings(value: Any, name: str) -> list[str]:
    items = _expect(value, list, name, "a list of strings") or []
    return [_require(item, str, f"{name} item", "a string") for item in items]


def _api_capture(config: Any, where: str) -> _Capture:
    if not isinstance(config, dict):
        msg = f"{where} must be an object, not {_kind(config)}"
        raise ConfigError(msg)
    names = {
        "enabled": f"{where}.EnableCapture",
        "sampling": f"{where}.InitialSamplingPercentage",
        "modes": f"{where}.CaptureOptions",
        "content_types": f"{where}.CaptureContentTypeHeader",
        "destination": f"{where}.DestinationS3Uri",
    }
    enabled = _expect(config.get("EnableCapture"), bool, names["enabled"], "true or false")
    sampling = _expect(
        config.get("InitialSamplingPercentage"), (int, float), names["sampling"], "a number"
    )
    options = _expect(config.get("CaptureOptions"), list, names["modes"], "a list") or []
    modes = []
    for option in options:
        _require(option, dict, f"{names['modes']} item", 'an object like {"CaptureMode": "Input"}')
        modes.append(
            _expect(option.get("CaptureMode"), str, f"{names['modes']} CaptureMode", "a string")
        )
    header = _expect(
        config.get("CaptureContentTypeHeader"), dict, names["content_types"], "an object"
    )
    header = header or {}
    content_types = [
        *_strings(header.get("CsvContentTypes"), f"{names['content_types']}.CsvContentTypes"),
        *_strings(header.get("JsonContentTypes"), f"{names['content_types']}.JsonContentTypes"),
    ]
    destination = _expect(config.get("DestinationS3Uri"), str, names["destination"], "a string")
    return _Capture(
        names,
        enabled=True if enabled is None else enabled,  # the API's default: enabled
        sampling=sampling,
        modes=[mode for mode in modes if mode is not None],
        content_types=content_types,
        destination=destination,
    )


def _sdk_capture(config: dict[str, Any]) -> _Capture:
    names = {
        "enabled": "enable_capture",
        "sampling": "sampling_percentage",
        "modes": "capture_options",
        "content_types": "csv_content_types/json_content_types",
        "destination": "destination_s3_uri",
    }
    enabled = _expect(config.get("enable_capture"), bool, names["enabled"], "true or false")
    sampling = _expect(
        config.get("sampling_percentage", 20), (int, float), names["sampling"], "a number"
    )
    # the SDK's defaults, as DataCaptureConfig.__init__ sets them (``x or default``)
    options = _strings(config.get("capture_options"), names["modes"]) or ["REQUEST", "RESPONSE"]
    csv = _strings(config.get("csv_content_types"), "csv_content_types") or ["text/csv"]
    json_types = _strings(config.get("json_content_types"), "json_content_types")
    destination = _expect(config.get("destination_s3_uri"), str, names["destination"], "a string")
    return _Capture(
        names,
        enabled=bool(enabled),  # required by the SDK: left out is not enabled
        sampling=sampling,
        modes=[_SDK_MODES.get(option.upper(), option) for option in options],
        content_types=[*csv, *(json_types or ["application/json"])],
        destination=destination,
    )


def check_capture_config(doc: Any) -> list[Problem]:
    """The rules of the integration page that the capture configuration ``doc`` breaks.

    ``doc`` is parsed JSON: a ``CreateEndpointConfig`` request, a ``DescribeEndpointConfig``
    response, their ``DataCaptureConfig`` alone, or a SageMaker Python SDK
    ``DataCaptureConfig`` (attribute names; what is left out takes the SDK's default). An
    empty list means every rule holds.

    Raises:
        ConfigError: ``doc`` is none of those shapes, or a field has the wrong type.
    """
    shape = capture_config_shape(doc)
    if shape in {"CreateEndpointConfig", "DescribeEndpointConfig"}:
        if doc.get("DataCaptureConfig") is None:
            return [
                Problem(
                    "data_capture_config",
                    "DataCaptureConfig",
                    f"the {shape} has no DataCaptureConfig, so nothing is captured: add one "
                    "with EnableCapture true, CaptureOptions Input and Output, "
                    "InitialSamplingPercentage 100, CaptureContentTypeHeader and "
                    "DestinationS3Uri",
                )
            ]
        capture = _api_capture(doc["DataCaptureConfig"], "DataCaptureConfig")
    elif shape == "DataCaptureConfig":
        capture = _api_capture(doc, "DataCaptureConfig")
    else:
        capture = _sdk_capture(doc)
    return _problems(capture, sdk=shape == "sagemaker.DataCaptureConfig")


def _problems(capture: _Capture, *, sdk: bool) -> list[Problem]:
    names = capture.names
    problems: list[Problem] = []
    if not capture.enabled:
        value = "False" if sdk else "false"
        problems.append(
            Problem(
                "capture_enabled",
                names["enabled"],
                f"{names['enabled']} is {value}: set it to {'True' if sdk else 'true'}",
            )
        )
    missing = [mode for mode in ("Input", "Output") if mode not in capture.modes]
    if missing:
        if sdk:
            wanted = " and ".join(
                {"Input": '"REQUEST"', "Output": '"RESPONSE"'}[m] for m in missing
            )
            want_all = '["REQUEST", "RESPONSE"]'
        else:
            wanted = " and ".join(f'{{"CaptureMode": "{m}"}}' for m in missing)
            want_all = '[{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]'
        problems.append(
            Problem(
                "capture_modes",
                names["modes"],
                f"{names['modes']} lacks {wanted}: set it to {want_all} so each inference has "
                "its request and its response",
            )
        )
    if capture.sampling != 100:
        shown = "not set" if capture.sampling is None else f"{capture.sampling:g}"
        problems.append(
            Problem(
                "sampling_percentage",
                names["sampling"],
                f"{names['sampling']} is {shown}: set it to 100 so every inference reaches Arthur",
            )
        )
    if not capture.content_types:
        problems.append(
            Problem(
                "content_types",
                names["content_types"],
                f"{names['content_types']} lists no CsvContentTypes or JsonContentTypes: list "
                'the endpoint\'s content types (e.g. "text/csv", "application/json"), else '
                "SageMaker captures BASE64, which Arthur's endpoint refuses",
            )
        )
    destination = capture.destination
    if not destination or not destination.startswith("s3://") or len(destination) <= len("s3://"):
        shown = "not set" if not destination else repr(destination)
        default = (
            " (the SDK would pick its session's default bucket)" if sdk and not destination else ""
        )
        problems.append(
            Problem(
                "destination",
                names["destination"],
                f"{names['destination']} is {shown}{default}: set it to the s3://bucket/prefix "
                "the trigger watches",
            )
        )
    return problems


# --- bucket notifications ----------------------------------------------------------------------

_TRIGGER_LISTS: Final = {
    "LambdaFunctionConfigurations": "LambdaFunctionArn",
    "QueueConfigurations": "QueueArn",
    "TopicConfigurations": "TopicArn",
}
_OTHER_KEYS: Final = frozenset({"EventBridgeConfiguration", "ResponseMetadata"})


@dataclass(frozen=True, slots=True)
class Trigger:
    """One notification rule of a bucket.

    Attributes:
        id: Its ``Id`` (or, without one, where it sits: ``QueueConfigurations[1]``).
        kind: ``LambdaFunctionConfigurations``, ``QueueConfigurations`` or
            ``TopicConfigurations``.
        target: The function, queue or topic ARN (``""`` when absent).
        events: Its event types (``s3:ObjectCreated:*``…).
        prefix: Its key prefix filter (``""``: every key).
        suffix: Its key suffix filter (``""``: every key).
    """

    id: str
    kind: str
    target: str
    events: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""

    def describe(self) -> str:
        """``Id (prefix 'a', suffix '.jsonl')``, as the lines of the report name it."""
        prefix = f"prefix {self.prefix!r}" if self.prefix else "any prefix"
        suffix = f"suffix {self.suffix!r}" if self.suffix else "any suffix"
        return f"{self.id} ({prefix}, {suffix})"


@dataclass(frozen=True, slots=True)
class Overlap:
    """Two triggers S3 refuses together: an event type and a key both would fire on."""

    first: Trigger
    second: Trigger
    events: tuple[str, ...]
    """The event types of ``first`` that ``second`` shares (wildcards included)."""

    def __str__(self) -> str:
        """The line the command prints."""
        return (
            f"overlap: {self.first.describe()} and {self.second.describe()} both match "
            f"{', '.join(self.events)} on the same keys: S3 refuses overlapping rules; give them "
            "prefixes where neither starts the other, or suffixes where neither ends the other"
        )


@dataclass(frozen=True, slots=True)
class Loop:
    """An output prefix a trigger fires on: what the function writes there triggers it again."""

    prefix: str
    trigger: Trigger

    def __str__(self) -> str:
        """The line the command prints."""
        return (
            f"loop: output prefix {self.prefix!r} lies under trigger {self.trigger.describe()}: "
            "objects written there can trigger the function again; write outside the "
            "trigger's prefix"
        )


@dataclass(frozen=True, slots=True)
class TriggerReport:
    """What :func:`check_triggers` found.

    Attributes:
        triggers: Every notification rule read, in document order.
        overlaps: Each pair S3 would refuse as overlapping.
        loops: Each output prefix under a trigger that fires on object creation.
        eventbridge: Whether the bucket also sends its events to EventBridge.
    """

    triggers: tuple[Trigger, ...]
    overlaps: tuple[Overlap, ...]
    loops: tuple[Loop, ...]
    eventbridge: bool = False

    @property
    def ok(self) -> bool:
        """No overlap and no loop."""
        return not self.overlaps and not self.loops


def _filter_rules(config: dict[str, Any], where: str) -> tuple[str, str]:
    found = {"prefix": "", "suffix": ""}
    seen: set[str] = set()
    filter_ = _expect(config.get("Filter"), dict, f"{where}.Filter", "an object") or {}
    key = _expect(filter_.get("Key"), dict, f"{where}.Filter.Key", "an object") or {}
    rules = _expect(key.get("FilterRules"), list, f"{where}.Filter.Key.FilterRules", "a list")
    for rule in rules or []:
        _require(rule, dict, f"{where} filter rule", 'an object like {"Name": "Prefix"}')
        name = _expect(rule.get("Name"), str, f"{where} filter rule Name", "a string") or ""
        value = _expect(rule.get("Value"), str, f"{where} filter rule Value", "a string") or ""
        lowered = name.lower()
        if lowered not in found:
            msg = f"{where} has a filter rule named {name!r}: expected Prefix or Suffix"
            raise ConfigError(msg)
        if lowered in seen:
            msg = f"{where} has two {name} filter rules (S3 takes one of each)"
            raise ConfigError(msg)
        seen.add(lowered)
        found[lowered] = value
    return found["prefix"], found["suffix"]


def _triggers(doc: Any) -> tuple[list[Trigger], bool]:
    if isinstance(doc, dict) and isinstance(doc.get("NotificationConfiguration"), dict):
        doc = doc["NotificationConfiguration"]  # a PutBucketNotificationConfiguration request
    if not isinstance(doc, dict):
        msg = f"expected a bucket notification configuration (a JSON object), got {_kind(doc)}"
        raise ConfigError(msg)
    unknown = sorted(set(doc) - set(_TRIGGER_LISTS) - _OTHER_KEYS)
    if unknown:
        msg = (
            "not a bucket notification configuration (as GetBucketNotificationConfiguration "
            f"returns it): unexpected {', '.join(unknown[:5])}"
        )
        raise ConfigError(msg)
    triggers: list[Trigger] = []
    for kind, target_key in _TRIGGER_LISTS.items():
        configs = _expect(doc.get(kind), list, kind, "a list") or []
        for index, config in enumerate(configs):
            where = f"{kind}[{index}]"
            _require(config, dict, where, "an object")
            name = _expect(config.get("Id"), str, f"{where}.Id", "a string") or where
            events = _strings(config.get("Events"), f"{name}.Events")
            if not events:
                msg = f"{name} has no Events (S3 requires at least one)"
                raise ConfigError(msg)
            target = _expect(config.get(target_key), str, f"{name}.{target_key}", "a string")
            prefix, suffix = _filter_rules(config, name)
            triggers.append(Trigger(name, kind, target or "", tuple(events), prefix, suffix))
    return triggers, "EventBridgeConfiguration" in doc


def _events_meet(one: str, other: str) -> bool:
    """Whether two event types share an event (``s3:ObjectCreated:*`` meets ``…:Put``)."""
    if one == other:
        return True
    if one.endswith("*") and other.startswith(one[:-1]):
        return True
    return other.endswith("*") and one.startswith(other[:-1])


def _shared_events(first: Trigger, second: Trigger) -> tuple[str, ...]:
    return tuple(
        event for event in first.events if any(_events_meet(event, o) for o in second.events)
    )


def _keys_meet(first: Trigger, second: Trigger) -> bool:
    prefixes = first.prefix.startswith(second.prefix) or second.prefix.startswith(first.prefix)
    suffixes = first.suffix.endswith(second.suffix) or second.suffix.endswith(first.suffix)
    return prefixes and suffixes


def split_prefix(location: str) -> tuple[str | None, str]:
    """``s3://bucket/prefix`` as ``("bucket", "prefix")``; a bare prefix as ``(None, prefix)``."""
    if location.startswith("s3://"):
        bucket, _, prefix = location[len("s3://") :].partition("/")
        return bucket, prefix
    return None, location.lstrip("/")


def _creates_objects(trigger: Trigger) -> bool:
    return any(_events_meet(event, "s3:ObjectCreated:Put") for event in trigger.events)


def check_triggers(
    doc: Any, output_prefixes: tuple[str, ...] | list[str] = (), *, bucket: str | None = None
) -> TriggerReport:
    """The overlapping pairs in a bucket notification configuration, and the looping outputs.

    Two rules overlap (S3 refuses the configuration) when they share an event type (a
    wildcard such as ``s3:ObjectCreated:*`` shares every ``s3:ObjectCreated:…``), one's
    prefix starts the other's and one's suffix ends the other's (a missing prefix or suffix
    matches every key). Each output prefix (``s3://bucket/prefix`` or a bare prefix) that lies
    under the prefix of a rule firing on object creation is a :class:`Loop`; with ``bucket``,
    an ``s3://`` prefix in another bucket is not.

    Raises:
        ConfigError: ``doc`` is not a notification configuration.
    """
    triggers, eventbridge = _triggers(doc)
    overlaps: list[Overlap] = []
    for index, first in enumerate(triggers):
        for second in triggers[index + 1 :]:
            shared = _shared_events(first, second)
            if shared and _keys_meet(first, second):
                overlaps.append(Overlap(first, second, shared))
    loops: list[Loop] = []
    for location in output_prefixes:
        where, prefix = split_prefix(location)
        if bucket is not None and where is not None and where != bucket:
            continue
        loops.extend(
            Loop(location, trigger)
            for trigger in triggers
            if _creates_objects(trigger) and prefix.startswith(trigger.prefix)
        )
    return TriggerReport(tuple(triggers), tuple(overlaps), tuple(loops), eventbridge)
