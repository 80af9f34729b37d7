"""The one JSON spelling used in every table and hash: sorted keys, no spaces, UTF-8 kept.

A leaf module (no package imports), so graph.py, the store and the extractors can all use it
without import cycles.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
