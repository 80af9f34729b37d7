"""Strings read from a parsed model, always as `str`: the one place invalid UTF-8 is handled.

ONNX declares names, types and domains as protobuf `string` fields, but its schema is proto2, so
the parser does not validate them: with the upb backend a field holding bytes that are not valid
UTF-8 comes back as `bytes`, not `str`. Such a model is still a model (docs/formats.md): every
string the walkers read goes through `text`/`texts`, which decode those bytes like
`bytes.decode("utf-8", errors="backslashreplace")` (each byte of an invalid sequence becomes
`\\xNN`, lowercase hex), the rule the native extractor follows too. Valid strings are returned as
they are, after one type check.
"""

from __future__ import annotations

from collections.abc import Iterable


def text(value: str | bytes) -> str:
    """A proto string field as text (invalid UTF-8 escaped as `\\xNN`)."""
    return value if type(value) is str else decode(value)


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="backslashreplace")


def texts(values: Iterable[str | bytes]) -> list[str]:
    """A repeated proto string field as a list of text."""
    items = list(values)
    for item in items:
        if type(item) is not str:
            return [text(v) for v in items]
    return items
