// name: read_tokens
// description: Internal (younger_graph.arch.backfill): the op type and domain of each operator of the given graphs, one row per graph (lists in one order; never null, as collect drops nulls); read_token_weights adds what weighted layers need.
// param: ids list[str]
// mode: read
MATCH (g:Graph)-[:CONTAINS]->(o:Operator)
WHERE g.graph_id IN $ids
RETURN g.graph_id AS graph_id, collect(o.idx) AS idx, collect(coalesce(o.op_type, '')) AS op_type,
       collect(coalesce(o.domain, '')) AS domain
