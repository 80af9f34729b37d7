// name: write_graph_views
// description: Internal (younger_graph.arch.backfill): the architecture view's Graph properties (sizes and structure metrics).
// param: rows list[map]
// mode: write
UNWIND $rows AS r
MATCH (g:Graph)
WHERE g.graph_id = r.graph_id
SET g.arch_num_nodes = r.arch_num_nodes,
    g.arch_num_operators = r.arch_num_operators, g.arch_num_edges = r.arch_num_edges,
    g.arch_num_components = r.arch_num_components, g.arch_max_in_degree = r.arch_max_in_degree,
    g.arch_max_out_degree = r.arch_max_out_degree, g.arch_depth = r.arch_depth, g.arch_width = r.arch_width,
    g.arch_num_op_types = r.arch_num_op_types, g.arch_op_type_entropy = r.arch_op_type_entropy,
    g.arch_has_control_flow = r.arch_has_control_flow, g.arch_has_custom_domain = r.arch_has_custom_domain
RETURN count(g) AS n
