"""ONNX operator schemas by (op_type, domain, opset), cached: one lookup per distinct operator.

The rebuild uses them to settle attribute types the canonical JSON leaves open and the number of
outputs an operator declares; the validity rule (validity.py) to bound incoming flows and fill the
slots weights fill in real models.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import onnx
from onnx import defs

DEFAULT_DOMAIN = "ai.onnx"
# Domains whose operators onnx itself defines (the checker knows their schemas).
STANDARD_DOMAINS = ("", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training")


def opset_key(domain: str) -> str:
    """The key a domain has in the models row's `opsets` JSON (the default domain spelled ai.onnx)."""
    return domain or DEFAULT_DOMAIN


def import_domain(key: str) -> str:
    """An `opsets` key → the domain string of an OperatorSetIdProto (ai.onnx → "")."""
    return "" if key == DEFAULT_DOMAIN else key


@lru_cache(maxsize=20_000)
def schema(op_type: str, domain: str, version: int) -> Any | None:
    """The schema ONNX applies to op_type at this opset version of its domain (None: unknown, e.g. a
    custom domain or an operator newer than the opset)."""
    d = import_domain(opset_key(domain))
    try:
        return defs.get_schema(op_type, max(int(version), 1), d)
    except (defs.SchemaError, TypeError, ValueError):
        return None


def attribute_type(s: Any | None, name: str) -> int | None:
    """The AttributeProto type number a schema declares for an attribute (None when unknown)."""
    if s is None:
        return None
    return _attribute_types(s.name, s.domain, s.since_version).get(name)


@lru_cache(maxsize=20_000)
def _attribute_types(op_type: str, domain: str, since: int) -> dict[str, int]:
    # `OpSchema.attributes` builds a new dict on every access: once per schema here.
    return {k: int(v.type) for k, v in defs.get_schema(op_type, since, domain).attributes.items()}


def is_standard(domain: str) -> bool:
    return domain in STANDARD_DOMAINS


def checker_error(model: onnx.ModelProto | str) -> str | None:
    """onnx.checker.check_model's complaint (first line), or None when the model passes."""
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        return lines[0] if lines else type(exc).__name__
    except (ValueError, OSError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None
