"""younger_graph.arrays builds the same Arrow arrays as pa.array, without importing pandas."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from younger_graph import arrays
from younger_graph.schema import SCHEMAS

CASES = [
    (pa.string(), []),
    (pa.string(), ["a", "", "bcd"]),
    (pa.string(), ["α", None, "", "日本語", "x" * 300, None]),
    (pa.string(), [None, None]),
    (pa.int32(), []),
    (pa.int32(), [0, -1, 2**31 - 1, -(2**31)]),
    (pa.int64(), [1, None, 2**40]),
    (pa.float64(), [0.0, -0.0, 1.5, float("nan"), float("inf")]),
    (pa.float64(), [None, 2.5]),
    (pa.bool_(), [True, False, True, True, False, False, False, True, True]),
    (pa.bool_(), [None, True, False]),
]


@pytest.mark.parametrize(("type_", "values"), CASES)
def test_array_equals_pa_array(type_, values):
    got = arrays.array(values, type_)
    want = pa.array(values, type_)
    assert got.type == want.type and got.null_count == want.null_count
    assert got.to_pylist() == want.to_pylist() or (type_ == pa.float64() and str(got) == str(want))
    assert got.equals(want) or type_ == pa.float64()
    got.validate(full=True)


def test_numpy_input_and_repeated_string():
    assert arrays.array(np.arange(5), pa.int32()).equals(pa.array(range(5), pa.int32()))
    assert arrays.repeated_string("abc", 4).equals(pa.array(["abc"] * 4))
    assert arrays.repeated_string("abc", 0).equals(pa.array([], pa.string()))


def test_tables_from_rows_and_empty():
    schema = SCHEMAS["models"]
    rows = [{"model_id": "m", "source": "s", "num_bytes": 3, "ir_version": None}, {"model_id": "n"}]
    assert arrays.table_from_rows(rows, schema).equals(pa.Table.from_pylist(rows, schema=schema))
    for schema in SCHEMAS.values():
        assert arrays.empty_table(schema).equals(schema.empty_table())


def test_no_pandas_import():
    code = ("import sys; from younger_graph import arrays; from younger_graph.schema import SCHEMAS;"
            "arrays.table_from_rows([{'model_id': 'x', 'num_bytes': 1}], SCHEMAS['models']);"
            "arrays.empty_table(SCHEMAS['edges']); print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
