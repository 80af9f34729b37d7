// name: stats_community_blocks
// description: Stats: the most frequent building blocks of a method: community hashes (hash, or hash_noattr with noattr) of communities holding operators, ranked by the graphs containing them, with occurrences, sizes and the first graph holding one.
// param: method str
// param: noattr bool = false
// param: top int = 30
// param: graph_ids list[str] = null
// mode: read
MATCH (c:Community)
WHERE c.method = $method AND ($graph_ids IS NULL OR c.graph_id IN $graph_ids) AND c.operators > 0
WITH CASE WHEN $noattr THEN c.hash_noattr ELSE c.hash END AS hash, c
RETURN hash, count(DISTINCT c.graph_id) AS graphs, count(*) AS occurrences, min(c.size) AS size,
       min(c.operators) AS operators, min(c.boundary_size) AS boundary_size, min(c.graph_id) AS example_graph
ORDER BY graphs DESC, occurrences DESC, hash
LIMIT $top
