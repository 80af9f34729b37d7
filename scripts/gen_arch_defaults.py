"""Regenerate younger_graph/arch/defaults.py: the default value of every attribute of the standard
ONNX operators (domains "" and ai.onnx.ml), in the canonical JSON spelling of the attrs column.

The architecture view drops attributes equal to their default (exporters differ in spelling defaults
out), and the view must not import onnx (the store computes it at load), so the table is generated
here, once per onnx release: `.venv/bin/python scripts/gen_arch_defaults.py`.
tests/test_arch_view.py checks the file against the installed onnx.
"""

from __future__ import annotations

import sys
from pathlib import Path

import onnx
import onnx.defs

from younger_graph.canonical import dumps
from younger_graph.walk.attrs import attribute_value

TARGET = Path(__file__).resolve().parents[1] / "younger_graph" / "arch" / "defaults.py"


def table() -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for schema in sorted(onnx.defs.get_all_schemas(), key=lambda s: (s.domain, s.name)):
        if schema.domain not in ("", "ai.onnx.ml"):
            continue
        defaults = {}
        for name, attr in sorted(schema.attributes.items()):
            value = attr.default_value
            if value is None or not value.name:  # no default: the attribute is required or absent
                continue
            defaults[name] = attribute_value(value, lambda *_: None)
        if defaults:
            key = schema.name if schema.domain == "" else f"{schema.domain}:{schema.name}"
            out[key] = defaults
    return out


def render() -> str:
    lines = [
        "# ruff: noqa: E501",
        '"""Default attribute values of the standard ONNX operators (generated: scripts/gen_arch_defaults.py,',
        f'from onnx {onnx.__version__}; do not edit). Key: op_type for the default domain, `domain:op_type`',
        'otherwise; values in the canonical JSON spelling of the attrs column."""',
        "",
        "# fmt: off",
        "DEFAULTS: dict[str, str] = {",
    ]
    for key, defaults in table().items():
        lines.append(f"    {key!r}: {dumps(defaults)!r},")
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {TARGET}\n")
