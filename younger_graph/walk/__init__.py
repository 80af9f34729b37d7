"""ONNX → operator DAG (`GraphBuilder`): the walkers and the rules they share.

- `scopes`: name resolution in nested scopes, nesting limits, scope paths (every walker uses it:
  the ONNX walker here and the Younger-release walker in `younger_graph.loaders.younger`);
- `onnx_walker`: a parsed `onnx.ModelProto` → GraphBuilder (the Python walker);
- `attrs`: canonical JSON of ONNX attribute values and tensor summaries;
- `lean`: model bytes without tensor payloads, so parsing never copies weights.

Nothing here reads files or knows about tables: loaders hand models in, the GraphBuilder's
`finish()` hands rows out.
"""
