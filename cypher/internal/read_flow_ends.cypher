// name: read_flow_ends
// description: Internal (younger_graph.arch.backfill): the two ends (operator idx) of every flow of the given graphs, one row per graph (src and dst lists in one order).
// param: ids list[str]
// mode: read
MATCH (g:Graph)-[:CONTAINS]->(a:Operator)-[:FLOWS]->(b:Operator)
WHERE g.graph_id IN $ids
RETURN g.graph_id AS graph_id, collect(a.idx) AS src, collect(b.idx) AS dst
