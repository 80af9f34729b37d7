"""Exports of the store as machine-learning datasets (docs/export.md), one module per job.

- `raw`: `export pyg` stage 1, the selected graphs out of the store into `raw/*.parquet` (+ options);
- `arrays`: raw/ as flat numpy arrays (token codes per node, flows) with their consistency checks;
- `items`: the items of each task (whole graphs; communities with their boundaries), negatives;
- `builder`: splits, vocabulary, meta.json and the Data objects of every split;
- `vocab`: tokens, vocabularies and seeded splits; `features`: numeric attribute features;
- `dense`: padded dense tensors (one-hot operators, upper-triangular adjacency) for generators;
- `annotate`: external measurements joined onto Model/Graph nodes as properties.

The torch datasets (`younger_graph.datasets`) import this package, never the reverse. Nothing here
imports torch or torch_geometric at module level: they are imported by the functions that build
tensors, so `import younger_graph.export` works without the `pyg` extra.
"""
