// name: graphs_with_outdated_communities
// description: Internal (younger_graph.reading): graphs whose communities of a method predate the operators and modularity properties (a rerun of communities recomputes them).
// param: method str
// mode: read
MATCH (c:Community)
WHERE c.method = $method AND c.operators IS NULL
RETURN DISTINCT c.graph_id AS graph_id
