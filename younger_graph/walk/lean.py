"""ONNX file bytes → the same ModelProto bytes without tensor payloads (weights).

Extraction reads a tensor's dtype and shape, never its values, yet weights are nearly all of a
model file's bytes, and `ParseFromString` copies every one of them into the parsed message (on the
benchmark corpus: 0.37 s of parsing for 738 MiB; the lean bytes parse in 6 ms). So before parsing,
a wire-format scan copies the file minus the payload fields of TensorProto (`raw_data`,
`float_data`, `double_data`, `string_data`), descending only into large sub-messages that can
hold tensors (graphs, nodes, attributes, functions, sparse tensors) and keeping everything else
byte for byte.

The scan never changes what a valid model means: every kept byte is parsed by protobuf as before,
and a dropped field is only one that protobuf accepts whatever its content (bytes, or packed
fixed-width numbers of a whole number of elements). Anything unexpected (truncation, groups,
nesting deeper than protobuf allows) returns None, and the caller parses the original bytes, so
malformed files fail exactly as they always did.
"""

from __future__ import annotations

MODEL, GRAPH, NODE, ATTRIBUTE, TENSOR, SPARSE_TENSOR, FUNCTION = range(7)

# Per message kind: field number → kind of the sub-message in that (length-delimited) field, for the
# fields that can lead to a TensorProto (onnx.proto: ModelProto.graph/functions, GraphProto.node/
# initializer/sparse_initializer, NodeProto.attribute, AttributeProto.t/g/tensors/graphs/
# sparse_tensor(s), FunctionProto.node/attribute_proto, SparseTensorProto.values/indices).
_CHILDREN: dict[int, dict[int, int]] = {
    MODEL: {7: GRAPH, 25: FUNCTION},
    GRAPH: {1: NODE, 5: TENSOR, 15: SPARSE_TENSOR},
    NODE: {5: ATTRIBUTE},
    ATTRIBUTE: {5: TENSOR, 6: GRAPH, 10: TENSOR, 11: GRAPH, 22: SPARSE_TENSOR, 23: SPARSE_TENSOR},
    FUNCTION: {7: NODE, 11: ATTRIBUTE},
    SPARSE_TENSOR: {1: TENSOR, 2: TENSOR},
    TENSOR: {},
}
# TensorProto payload fields → the element size their length must be a multiple of to be dropped
# (raw_data and string_data are bytes; float_data and double_data packed fixed32/fixed64). Packed
# varint fields (int32/int64/uint64_data) are kept: protobuf validates each varint.
_PAYLOAD = {9: 1, 6: 1, 4: 4, 10: 8}
_LENGTH_DELIMITED = 2
SMALL = 1024  # sub-messages shorter than this are copied whole: scanning them would cost more
MAX_DEPTH = 100  # protobuf's own recursion limit


class _Unexpected(Exception):
    """Bytes the scan does not vouch for: parse the original instead."""


def lean_model_bytes(data: bytes | memoryview) -> bytes | None:
    """`data` (a serialized ModelProto) without tensor payloads, or None to parse `data` as is."""
    buf = memoryview(data)
    pieces: list[bytes | memoryview] = []
    try:
        _copy_message(buf, 0, len(buf), MODEL, 0, pieces)
    except (_Unexpected, IndexError):
        return None
    return b"".join(pieces)


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    byte = buf[pos]
    if byte < 0x80:
        return byte, pos + 1
    value, shift = byte & 0x7F, 7
    while True:
        pos += 1
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos + 1
        shift += 7
        if shift > 63:
            raise _Unexpected


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _copy_message(buf: memoryview, start: int, end: int, kind: int, depth: int,
                  pieces: list[bytes | memoryview]) -> int:
    """Append buf[start:end] (a message of `kind`) to pieces, minus tensor payloads; returns the
    number of bytes appended. Unchanged runs are appended as slices, not copied."""
    if depth > MAX_DEPTH:
        raise _Unexpected
    children = _CHILDREN[kind]
    in_tensor = kind == TENSOR
    pos = kept_from = start
    written = 0
    while pos < end:
        field_start = pos
        tag, pos = _varint(buf, pos)
        wire_type = tag & 7
        if wire_type == _LENGTH_DELIMITED:
            length, body = _varint(buf, pos)
            pos = body + length
            if pos > end:
                raise _Unexpected
            number = tag >> 3
            if in_tensor:
                size = _PAYLOAD.get(number)
                if size is not None and length % size == 0:  # drop the field
                    pieces.append(buf[kept_from:field_start])
                    written += field_start - kept_from
                    kept_from = pos
            elif length >= SMALL and number in children:  # rewrite the sub-message, then its length
                pieces.append(buf[kept_from:field_start])
                written += field_start - kept_from
                slot = len(pieces)
                pieces.append(b"")
                size = _copy_message(buf, body, pos, children[number], depth + 1, pieces)
                header = _encode_varint(tag) + _encode_varint(size)
                pieces[slot] = header
                written += len(header) + size
                kept_from = pos
        elif wire_type == 0:
            _, pos = _varint(buf, pos)
        elif wire_type == 1:
            pos += 8
        elif wire_type == 5:
            pos += 4
        else:  # groups (deprecated) and invalid wire types
            raise _Unexpected
    if pos != end:
        raise _Unexpected
    pieces.append(buf[kept_from:end])
    return written + end - kept_from
