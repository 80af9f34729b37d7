// name: view_graph
// description: Internal (younger_graph.viewer): one graph's stored sizes and the names of the models that have it.
// param: graph_id str
// mode: read
MATCH (g:Graph)
WHERE g.graph_id = $graph_id
OPTIONAL MATCH (m:Model)-[:INSTANCE_OF]->(g)
RETURN g.graph_id AS graph_id, g.num_operators AS num_operators, g.num_nodes AS num_nodes, g.num_edges AS num_edges,
       g.num_subgraphs AS num_subgraphs, g.num_functions AS num_functions, collect(m.name) AS models
