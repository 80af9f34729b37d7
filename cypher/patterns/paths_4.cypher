// name: paths_4
// description: Frequent 4-operator paths along data flow (operator nodes only): support (graphs) and occurrences (paths).
// param: min_support int = 1
// param: top int = 30
// mode: read
MATCH (a:Operator)-[:FLOWS]->(b:Operator)-[:FLOWS]->(c:Operator)-[:FLOWS]->(d:Operator)
WHERE a.kind = 'operator' AND b.kind = 'operator' AND c.kind = 'operator' AND d.kind = 'operator'
WITH a.op_type AS op1, b.op_type AS op2, c.op_type AS op3, d.op_type AS op4, count(DISTINCT a.graph_id) AS support,
     count(*) AS occurrences
WHERE support >= $min_support
RETURN op1, op2, op3, op4, support, occurrences
ORDER BY support DESC, occurrences DESC, op1, op2, op3, op4
LIMIT $top
