// name: read_graph_keys
// description: Internal (younger_graph.reading): the architecture hashes of the given graphs (graph_id_noattr), the grouping key of leakage-aware splits.
// param: ids list[str]
// mode: read
MATCH (g:Graph)
WHERE g.graph_id IN $ids
RETURN g.graph_id AS graph_id, g.graph_id_noattr AS graph_id_noattr, g.num_nodes AS num_nodes
