// name: read_tokens
// description: Internal (younger_graph.arch.store): what an embedding reads of each operator of the given graphs (attributes only of convolutions).
// param: ids list[str]
// mode: read
MATCH (g:Graph)-[:CONTAINS]->(o:Operator)
WHERE g.graph_id IN $ids
RETURN g.graph_id AS graph_id, o.idx AS idx, o.op_type AS op_type, o.domain AS domain,
       CASE WHEN o.op_type IN ['Conv', 'ConvTranspose'] THEN o.attrs ELSE '' END AS attrs
