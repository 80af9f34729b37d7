// name: paths_3
// description: Frequent 3-operator paths along data flow (operator nodes only): support (graphs) and occurrences (paths).
// param: min_support int = 1
// param: top int = 30
// mode: read
MATCH (a:Operator)-[:FLOWS]->(b:Operator)-[:FLOWS]->(c:Operator)
WHERE a.kind = 'operator' AND b.kind = 'operator' AND c.kind = 'operator'
WITH a.op_type AS op1, b.op_type AS op2, c.op_type AS op3, count(DISTINCT a.graph_id) AS support,
     count(*) AS occurrences
WHERE support >= $min_support
RETURN op1, op2, op3, support, occurrences
ORDER BY support DESC, occurrences DESC, op1, op2, op3
LIMIT $top
