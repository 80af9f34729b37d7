// name: control_flow_bodies
// description: Operators inside If/Loop/Scan bodies and function bodies (non-empty scope), by type.
// mode: read
MATCH (o:Operator)
WHERE o.scope <> '' AND o.kind = 'operator'
RETURN o.op_type AS op_type, count(*) AS operators, count(DISTINCT o.graph_id) AS graphs
ORDER BY operators DESC, op_type
