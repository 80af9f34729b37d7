// name: op_histogram
// description: Operator types by number of occurrences and by number of graphs containing them.
// param: top int = 30
// mode: read
MATCH (g:Graph)-[:CONTAINS]->(o:Operator)
WHERE o.kind = 'operator'
RETURN o.op_type AS op_type, o.domain AS domain, count(*) AS occurrences, count(DISTINCT g.graph_id) AS graphs
ORDER BY occurrences DESC, op_type, domain
LIMIT $top
