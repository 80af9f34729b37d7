// name: graphs_without_view
// description: Internal (younger_graph.arch.backfill): graphs without an architecture view (loaded before it existed), with their stored sizes.
// mode: read
MATCH (g:Graph)
WHERE g.arch_num_nodes IS NULL
RETURN g.graph_id AS graph_id, g.num_nodes AS num_nodes, g.num_edges AS num_edges
ORDER BY graph_id
