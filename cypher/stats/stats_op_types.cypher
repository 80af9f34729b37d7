// name: stats_op_types
// description: Stats: every (op_type, domain) with its occurrences, the graphs containing it and its distinct attribute sets.
// param: graph_ids list[str] = null
// mode: read
MATCH (o:Operator)
WHERE ($graph_ids IS NULL OR o.graph_id IN $graph_ids) AND o.kind = 'operator'
RETURN o.op_type AS op_type, o.domain AS domain, count(*) AS occurrences, count(DISTINCT o.graph_id) AS graphs,
       count(DISTINCT o.attrs) AS attr_variants
ORDER BY occurrences DESC, op_type, domain
