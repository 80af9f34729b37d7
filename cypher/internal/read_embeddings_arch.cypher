// name: read_embeddings_arch
// description: Internal (younger_graph.arch.similar): the architecture-view embedding of every graph that has one, or of the given graphs.
// param: ids list[str] = null
// mode: read
MATCH (g:Graph)
WHERE g.embedding_arch IS NOT NULL AND ($ids IS NULL OR g.graph_id IN $ids)
RETURN g.graph_id AS graph_id, g.embedding_arch AS embedding
