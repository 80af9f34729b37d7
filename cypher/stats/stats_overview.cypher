// name: stats_overview
// description: Stats: unique architectures (with and without attributes) and their nodes, operators and edges.
// param: graph_ids list[str] = null
// mode: read
MATCH (g:Graph)
WHERE $graph_ids IS NULL OR g.graph_id IN $graph_ids
RETURN count(g) AS graphs, count(DISTINCT g.graph_id_noattr) AS graphs_noattr,
       sum(g.num_nodes) AS nodes, sum(g.num_operators) AS operators, sum(g.num_edges) AS edges
