// name: stats_community_methods
// description: Stats: every community method in the store, with the selected graphs holding its communities and their number (zero when the selection has none).
// param: graph_ids list[str] = null
// mode: read
MATCH (c:Community)
WITH c.method AS method, c.graph_id AS graph_id, ($graph_ids IS NULL OR c.graph_id IN $graph_ids) AS selected
RETURN method, count(DISTINCT CASE WHEN selected THEN graph_id END) AS graphs,
       sum(CASE WHEN selected THEN 1 ELSE 0 END) AS communities
ORDER BY method
