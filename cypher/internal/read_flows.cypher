// name: read_flows
// description: Internal (younger_graph.reading): every flow of the given graphs as operator idx pairs with their slots and declared tensor types.
// param: ids list[str]
// mode: read
MATCH (g:Graph)-[:CONTAINS]->(a:Operator)-[f:FLOWS]->(b:Operator)
WHERE g.graph_id IN $ids
RETURN g.graph_id AS graph_id, a.idx AS src, b.idx AS dst, f.src_slot AS src_slot, f.dst_slot AS dst_slot,
       f.tensor AS tensor, f.dtype AS dtype, f.shape AS shape
