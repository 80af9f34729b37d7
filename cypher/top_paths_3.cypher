// name: top_paths_3
// description: Most frequent 3-operator paths along data-flow edges, with support in graphs.
// param: top int = 30
// mode: read
MATCH (a:Operator)-[:FLOWS]->(b:Operator)-[:FLOWS]->(c:Operator)
WHERE a.kind = 'operator' AND b.kind = 'operator' AND c.kind = 'operator'
RETURN a.op_type AS first, b.op_type AS second, c.op_type AS third, count(*) AS occurrences,
       count(DISTINCT a.graph_id) AS graphs
ORDER BY occurrences DESC, first, second, third
LIMIT $top
