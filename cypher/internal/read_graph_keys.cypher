// name: read_graph_keys
// description: Internal (younger_graph.reading): the architecture hashes of the given graphs (graph_id_noattr, graph_id_arch), the grouping keys of leakage-aware splits.
// param: ids list[str]
// mode: read
MATCH (g:Graph)
WHERE g.graph_id IN $ids
RETURN g.graph_id AS graph_id, g.graph_id_noattr AS graph_id_noattr, g.graph_id_arch AS graph_id_arch,
       g.num_nodes AS num_nodes
