// name: custom_domains
// description: Graphs using operators outside the standard ONNX domains (ai.onnx, ai.onnx.ml), by domain.
// mode: read
MATCH (o:Operator)
WHERE o.kind = 'operator' AND NOT o.domain IN ['', 'ai.onnx', 'ai.onnx.ml']
RETURN o.domain AS domain, count(*) AS operators, count(DISTINCT o.graph_id) AS graphs,
       collect(DISTINCT o.op_type) AS op_types
ORDER BY operators DESC, domain
