"""Exports of the store as machine-learning datasets (docs/export.md).

- `younger_graph.export.pyg`: PyTorch Geometric dataset folders (tasks `link`, `operator`, `graph`),
  loaded with `younger_graph.pyg.YoungerDataset`;
- `younger_graph.export.dense`: padded dense tensors (one-hot operators, upper-triangular adjacency);
- `younger_graph.export.annotate`: external measurements joined onto Model/Graph nodes as properties;
- `younger_graph.export.features`: numeric attribute features per node (`--attr-features`).

Nothing here imports torch or torch_geometric at module level: they are imported by the functions
that need them, so `import younger_graph.export` works without the `pyg` extra.
"""
