// name: vector_search
// description: Internal (younger_graph.arch.similar, Neo4j only): the k graphs nearest to a vector by a view's vector index, with their stored embedding (the caller rescores exactly).
// param: index str
// param: k int
// param: vector list[float]
// param: property str
// mode: read
CALL db.index.vector.queryNodes($index, $k, $vector) YIELD node, score
RETURN node.graph_id AS graph_id, score, node[$property] AS embedding
