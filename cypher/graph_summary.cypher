// name: graph_summary
// description: One graph's size and its operator types with counts.
// param: graph_id str
// mode: read
MATCH (g:Graph {graph_id: $graph_id})-[:CONTAINS]->(o:Operator)
WHERE o.kind = 'operator'
RETURN g.graph_id AS graph_id, g.num_operators AS num_operators, g.num_edges AS num_edges,
       g.num_models AS num_models, o.op_type AS op_type, count(*) AS count
ORDER BY count DESC, op_type
