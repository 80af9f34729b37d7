// name: read_embeddings_exact
// description: Internal (younger_graph.arch.similar): the exact-view embedding of every graph that has one, or of the given graphs.
// param: ids list[str] = null
// mode: read
MATCH (g:Graph)
WHERE g.embedding_exact IS NOT NULL AND ($ids IS NULL OR g.graph_id IN $ids)
RETURN g.graph_id AS graph_id, g.embedding_exact AS embedding
