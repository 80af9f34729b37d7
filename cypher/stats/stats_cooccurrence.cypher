// name: stats_cooccurrence
// description: Stats: the most frequent pairs of operator types joined by a data-flow edge (producer → consumer).
// param: graph_ids list[str] = null
// param: top int = 30
// mode: read
MATCH (a:Operator)-[:FLOWS]->(b:Operator)
WHERE ($graph_ids IS NULL OR a.graph_id IN $graph_ids) AND a.kind = 'operator' AND b.kind = 'operator'
RETURN a.op_type AS producer, b.op_type AS consumer, count(*) AS edges, count(DISTINCT a.graph_id) AS graphs
ORDER BY edges DESC, producer, consumer
LIMIT $top
