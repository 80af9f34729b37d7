// name: stats_overview
// description: Stats: unique graphs, architectures without attributes and architecture views (graph_id_arch), and their nodes, operators and edges.
// param: graph_ids list[str] = null
// mode: read
MATCH (g:Graph)
WHERE $graph_ids IS NULL OR g.graph_id IN $graph_ids
RETURN count(g) AS graphs, count(DISTINCT g.graph_id_noattr) AS graphs_noattr,
       count(DISTINCT g.graph_id_arch) AS graphs_arch,
       sum(g.num_nodes) AS nodes, sum(g.num_operators) AS operators, sum(g.num_edges) AS edges
