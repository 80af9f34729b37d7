// name: stats_community_coverage
// description: Stats: distinct building blocks of a method (hash, or hash_noattr with noattr), those shared by at least two graphs, and the operators (kind operator) inside them.
// param: method str
// param: noattr bool = false
// param: graph_ids list[str] = null
// mode: read
MATCH (c:Community)
WHERE c.method = $method AND ($graph_ids IS NULL OR c.graph_id IN $graph_ids) AND c.operators > 0
WITH CASE WHEN $noattr THEN c.hash_noattr ELSE c.hash END AS hash, count(DISTINCT c.graph_id) AS graphs,
     sum(c.operators) AS operators
// coalesce: over no blocks Neo4j sums to 0 and LadybugDB to null
RETURN count(*) AS blocks, coalesce(sum(CASE WHEN graphs >= 2 THEN 1 ELSE 0 END), 0) AS shared_blocks,
       coalesce(sum(operators), 0) AS operators,
       coalesce(sum(CASE WHEN graphs >= 2 THEN operators ELSE 0 END), 0) AS shared_operators
