// name: stats_community_sizes
// description: Stats: communities of a method by (size, boundary size), over the selected graphs whose communities are current.
// param: method str
// param: graph_ids list[str] = null
// mode: read
MATCH (c:Community)
WHERE c.method = $method AND ($graph_ids IS NULL OR c.graph_id IN $graph_ids) AND c.operators IS NOT NULL
RETURN c.size AS size, c.boundary_size AS boundary_size, count(*) AS communities
ORDER BY size, boundary_size
