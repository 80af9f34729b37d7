// name: op_neighbours
// description: The operator types most often directly before or after a given type along data flow.
// param: op_type str
// param: top int = 20
// mode: read
MATCH (a:Operator)-[:FLOWS]->(b:Operator)
WHERE (a.op_type = $op_type OR b.op_type = $op_type) AND NOT (a.op_type = $op_type AND b.op_type = $op_type)
WITH CASE WHEN a.op_type = $op_type THEN 'after' ELSE 'before' END AS direction,
     CASE WHEN a.op_type = $op_type THEN b.op_type ELSE a.op_type END AS neighbour
RETURN direction, neighbour, count(*) AS occurrences
ORDER BY occurrences DESC, direction, neighbour
LIMIT $top
