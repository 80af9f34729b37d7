// name: graphs_with_communities
// description: Internal (younger_graph.reading): graphs holding communities of a method (Community nodes are written with their links in one transaction).
// param: method str
// mode: read
MATCH (c:Community)
WHERE c.method = $method
RETURN DISTINCT c.graph_id AS graph_id
