// name: read_operators
// description: Internal (younger_graph.reading): every operator of the given graphs with its stored columns, for analysis and export.
// param: ids list[str]
// mode: read
MATCH (g:Graph)-[:CONTAINS]->(o:Operator)
WHERE g.graph_id IN $ids
RETURN g.graph_id AS graph_id, o.idx AS idx, o.uid AS uid, o.kind AS kind, o.op_type AS op_type,
       o.domain AS domain, o.scope AS scope, o.name AS name, o.attrs AS attrs, o.initializers AS initializers
