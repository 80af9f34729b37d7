// name: graphs_with_path
// description: Graphs containing a chain of operator types along data-flow edges (2 to 6 types), with match counts and the names of their models.
// param: ops list[str]
// mode: read
MATCH p = (a:Operator)-[:FLOWS*1..5]->(b:Operator)
WHERE a.op_type IN $ops AND length(p) = size($ops) - 1 AND [n IN nodes(p) | n.op_type] = $ops
WITH a.graph_id AS graph_id, count(*) AS occurrences
OPTIONAL MATCH (m:Model)-[:INSTANCE_OF]->(g:Graph {graph_id: graph_id})
RETURN graph_id, occurrences, collect(DISTINCT m.name) AS models
ORDER BY occurrences DESC, graph_id
