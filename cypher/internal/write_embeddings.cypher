// name: write_embeddings
// description: Internal (younger_graph.arch.backfill): the embeddings of graphs (both views) and their version.
// param: rows list[map]
// mode: write
UNWIND $rows AS r
MATCH (g:Graph)
WHERE g.graph_id = r.graph_id
SET g.embedding_arch = r.embedding_arch, g.embedding_exact = r.embedding_exact,
    g.embedding_version = r.embedding_version
RETURN count(g) AS n
