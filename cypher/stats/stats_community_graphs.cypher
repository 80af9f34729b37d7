// name: stats_community_graphs
// description: Stats: one row per selected graph with communities of a method: its communities, how many carry operator counts (all of them unless written by an older version) and the partition's modularity.
// param: method str
// param: graph_ids list[str] = null
// mode: read
MATCH (c:Community)
WHERE c.method = $method AND ($graph_ids IS NULL OR c.graph_id IN $graph_ids)
RETURN c.graph_id AS graph_id, count(*) AS communities, count(c.operators) AS current,
       min(c.modularity) AS modularity
ORDER BY graph_id
