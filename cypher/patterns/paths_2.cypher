// name: paths_2
// description: Frequent 2-operator paths along data flow (operator nodes only): support (graphs) and occurrences (paths).
// param: min_support int = 1
// param: top int = 30
// mode: read
MATCH (a:Operator)-[:FLOWS]->(b:Operator)
WHERE a.kind = 'operator' AND b.kind = 'operator'
WITH a.op_type AS op1, b.op_type AS op2, count(DISTINCT a.graph_id) AS support, count(*) AS occurrences
WHERE support >= $min_support
RETURN op1, op2, support, occurrences
ORDER BY support DESC, occurrences DESC, op1, op2
LIMIT $top
