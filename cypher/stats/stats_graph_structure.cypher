// name: stats_graph_structure
// description: Stats: per-graph structure computed at extraction: depth, width, op-type entropy, components, degrees.
// param: graph_ids list[str] = null
// mode: read
MATCH (g:Graph)
WHERE $graph_ids IS NULL OR g.graph_id IN $graph_ids
RETURN g.graph_id AS graph_id, g.depth AS depth, g.width AS width, g.op_type_entropy AS op_type_entropy,
       g.num_components AS num_components, g.num_op_types AS num_op_types,
       g.max_in_degree AS max_in_degree, g.max_out_degree AS max_out_degree
ORDER BY graph_id
