// name: fan_hotspots
// description: Operators with the highest fan-in plus fan-out (data-flow edges), i.e. merge and branch points.
// param: top int = 20
// mode: read
MATCH (o:Operator)
WHERE o.kind = 'operator'
OPTIONAL MATCH (o)-[out:FLOWS]->()
WITH o, count(out) AS fan_out
OPTIONAL MATCH ()-[inc:FLOWS]->(o)
WITH o, fan_out, count(inc) AS fan_in
RETURN o.graph_id AS graph_id, o.idx AS idx, o.op_type AS op_type, fan_in, fan_out
ORDER BY fan_in + fan_out DESC, graph_id, idx
LIMIT $top
