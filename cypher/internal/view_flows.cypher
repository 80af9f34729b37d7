// name: view_flows
// description: Internal (younger_graph.viewer): every flow of one graph with its slots and tensor.
// param: graph_id str
// mode: read
MATCH (g:Graph)-[:CONTAINS]->(a:Operator)-[f:FLOWS]->(b:Operator)
WHERE g.graph_id = $graph_id
RETURN a.idx AS src, f.src_slot AS src_slot, b.idx AS dst, f.dst_slot AS dst_slot, f.tensor AS tensor,
       f.dtype AS dtype, f.shape AS shape
ORDER BY dst, dst_slot, src, src_slot
