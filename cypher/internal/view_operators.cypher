// name: view_operators
// description: Internal (younger_graph.viewer): every node of one graph with what the view page shows of it.
// param: graph_id str
// mode: read
MATCH (g:Graph)-[:CONTAINS]->(o:Operator)
WHERE g.graph_id = $graph_id
RETURN o.idx AS idx, o.kind AS kind, o.op_type AS op_type, o.domain AS domain, o.scope AS scope, o.name AS name,
       o.attrs AS attrs, o.initializers AS initializers
ORDER BY idx
