// name: graphs_with_view
// description: Internal (younger_graph.arch.backfill): graphs with an architecture view, their sizes and embedding version.
// mode: read
MATCH (g:Graph)
WHERE g.arch_num_nodes IS NOT NULL
RETURN g.graph_id AS graph_id, g.num_nodes AS num_nodes, g.num_edges AS num_edges,
       g.embedding_version AS embedding_version
ORDER BY graph_id
