"""Distributions and plain JSON values for the statistics document (shared by its sections).

Percentiles interpolate linearly (numpy's default); histograms are log2 bins for integer quantities
and fixed-width linear bins for floats (docs/stats.md#sizes).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

ENTROPY_BIN = 0.5  # bits per histogram bin of op_type_entropy (the default linear bin width)


def log2_bins(values: np.ndarray) -> list[dict[str, Any]]:
    """Integer values → bins [0,0], [1,1], [2,3], [4,7], ... from the bin of the smallest value to the
    bin of the largest (empty bins in between kept); `lo`/`hi` inclusive. Negative values are skipped."""
    v = np.asarray(values, dtype=np.int64)
    v = v[v >= 0]
    if v.size == 0:
        return []
    keys = np.array([int(x).bit_length() for x in v.tolist()], dtype=np.int64)  # 0 → 0, 1 → 1, 2..3 → 2, ...
    counts = np.bincount(keys)
    bins = []
    for k in range(int(keys.min()), int(keys.max()) + 1):
        lo, hi = (0, 0) if k == 0 else (1 << (k - 1), (1 << k) - 1)
        bins.append({"lo": lo, "hi": hi, "count": int(counts[k])})
    return bins


def linear_bins(values: np.ndarray, width: float) -> list[dict[str, Any]]:
    """Float values → bins [k·width, (k+1)·width) from the smallest to the largest value's bin."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return []
    keys = np.floor(v / width).astype(np.int64)
    first = int(keys.min())
    counts = np.bincount(keys - first)
    # Edges rounded to 12 decimals: 0.3, not 0.30000000000000004 (exact for the 0.5-bit entropy bins).
    return [{"lo": round((first + i) * width, 12), "hi": round((first + i + 1) * width, 12), "count": int(c)}
            for i, c in enumerate(counts)]


def distribution(values: Any, *, bins: str = "log2", width: float = ENTROPY_BIN) -> dict[str, Any]:
    """count, min, max, mean, median, p90 (linear interpolation) and a histogram of `values`
    (`bins`: "log2" for integers, "linear" for floats in bins of `width`)."""
    v = np.asarray(pd.Series(values, dtype="float64").dropna(), dtype=np.float64)
    integral = bins == "log2"
    label = bins if integral else f"linear:{width:g}"
    if v.size == 0:
        return {"count": 0, "min": None, "max": None, "mean": None, "median": None, "p90": None,
                "bins": label, "histogram": []}
    histogram = log2_bins(v.astype(np.int64)) if integral else linear_bins(v, width)
    return {
        "count": int(v.size),
        "min": int(v.min()) if integral else float(v.min()),
        "max": int(v.max()) if integral else float(v.max()),
        "mean": float(v.mean()),
        "median": float(np.percentile(v, 50)),
        "p90": float(np.percentile(v, 90)),
        "bins": label,
        "histogram": histogram,
    }


def plain(value: Any) -> Any:
    """numpy / pandas scalars → JSON-able Python values; NaN → None; integral floats stay floats."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def as_int(value: Any) -> int:
    value = plain(value)
    return 0 if value is None else int(value)


def ratio(a: float, b: float) -> float | None:
    return None if not b else float(a) / float(b)
