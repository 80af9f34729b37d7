// name: read_flow_ends
// description: Internal (younger_graph.arch.backfill): the two ends (operator idx) of every flow of the given graphs.
// param: ids list[str]
// mode: read
MATCH (g:Graph)-[:CONTAINS]->(a:Operator)-[:FLOWS]->(b:Operator)
WHERE g.graph_id IN $ids
RETURN g.graph_id AS graph_id, a.idx AS src, b.idx AS dst
