// name: stats_in_degrees
// description: Stats: in-degree histogram: how many nodes have each number (≥ 1) of incoming FLOWS; nodes with none are the rest of the graphs' num_nodes.
// param: graph_ids list[str] = null
// mode: read
MATCH (o:Operator)<-[f:FLOWS]-()
WHERE $graph_ids IS NULL OR o.graph_id IN $graph_ids
WITH o, count(f) AS degree
RETURN degree, count(*) AS nodes
ORDER BY degree
