"""Generation round trip: stored DAGs back to ONNX, and checks of generated architectures.

- `tensors.py`: declared-shape placeholders (initializers and tensor attributes without values);
- `attributes.py`: canonical attribute JSON (docs/formats.md) → `onnx.AttributeProto`;
- `rebuild.py`: one stored graph (its operator and flow rows) → a weightless `onnx.ModelProto`;
- `to_onnx.py`: `younger-graph to-onnx`: graphs out of a store → `.onnx` files, each checked by
  re-hashing it and by `onnx.checker`;
- `views.py`: the dense view (tokens + collapsed flows) of a graph, its hash, and the store's graphs
  in that view;
- `validity.py`: the validity rule for generated DAGs (ONNX schemas, weight slots) and their
  conversion to ONNX;
- `samples.py`: generated samples (a `dense.npz` + `vocab.json`, or a folder of `.onnx` / edge lists);
- `mmd.py`: graph descriptors and maximum mean discrepancy (DiGress's kernels);
- `check.py`: `younger-graph check-generated`: validity, uniqueness, novelty and MMD in one document.

This area reads the store through `younger_graph.reading` and parses ONNX (`onnx`), so neither
`export/` nor the store imports it.
"""
