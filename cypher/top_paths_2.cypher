// name: top_paths_2
// description: Most frequent 2-operator paths (producer → consumer op types), with support in graphs.
// param: top int = 30
// mode: read
MATCH (a:Operator)-[:FLOWS]->(b:Operator)
WHERE a.kind = 'operator' AND b.kind = 'operator'
RETURN a.op_type AS first, b.op_type AS second, count(*) AS occurrences, count(DISTINCT a.graph_id) AS graphs
ORDER BY occurrences DESC, first, second
LIMIT $top
