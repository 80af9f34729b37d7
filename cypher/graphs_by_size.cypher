// name: graphs_by_size
// description: Graphs whose operator count lies in [min_operators, max_operators].
// param: min_operators int = 0
// param: max_operators int = 1000000000
// mode: read
MATCH (g:Graph)
WHERE g.num_operators >= $min_operators AND g.num_operators <= $max_operators
RETURN g.graph_id AS graph_id, g.num_operators AS num_operators, g.num_edges AS num_edges,
       g.num_subgraphs AS num_subgraphs, g.num_models AS num_models
ORDER BY num_operators, graph_id
