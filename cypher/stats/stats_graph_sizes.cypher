// name: stats_graph_sizes
// description: Stats: per-graph sizes (nodes, operators, edges, models), for histograms and percentiles.
// param: graph_ids list[str] = null
// mode: read
MATCH (g:Graph)
WHERE $graph_ids IS NULL OR g.graph_id IN $graph_ids
RETURN g.graph_id AS graph_id, g.num_models AS num_models, g.num_nodes AS num_nodes,
       g.num_operators AS num_operators, g.num_edges AS num_edges
ORDER BY graph_id
