"""OTLP/HTTP traces in and out: decoding requests, mapping conventions, encoding spans."""

from llmdeck.observe.otlp.decode import WireSpan, from_json, from_protobuf
from llmdeck.observe.otlp.encode import attributes_of, to_json, to_protobuf
from llmdeck.observe.otlp.mapping import to_span

__all__ = [
    "WireSpan",
    "attributes_of",
    "from_json",
    "from_protobuf",
    "to_json",
    "to_protobuf",
    "to_span",
]
