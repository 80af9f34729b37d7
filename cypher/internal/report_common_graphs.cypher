// name: report_common_graphs
// description: Internal (younger_graph.viewer.report): the graphs most models share, for the stats report's links.
// param: top int = 5
// mode: read
MATCH (g:Graph)
WHERE g.num_models > 1
RETURN g.graph_id AS graph_id, g.num_operators AS num_operators, g.num_nodes AS num_nodes, g.num_models AS num_models
ORDER BY num_models DESC, num_operators DESC, graph_id
LIMIT $top
