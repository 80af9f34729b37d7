// name: report_largest_graphs
// description: Internal (younger_graph.viewer.report): the largest graphs by operators, for the stats report's links.
// param: top int = 5
// mode: read
MATCH (g:Graph)
RETURN g.graph_id AS graph_id, g.num_operators AS num_operators, g.num_nodes AS num_nodes, g.num_models AS num_models
ORDER BY num_operators DESC, graph_id
LIMIT $top
