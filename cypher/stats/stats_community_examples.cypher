// name: stats_community_examples
// description: Stats: the communities of a method with the given hashes (hash, or hash_noattr with noattr) in the given graphs, one row per member operator (the blocks' examples).
// param: method str
// param: hashes list[str]
// param: ids list[str]
// param: noattr bool = false
// mode: read
MATCH (o:Operator)-[:MEMBER_OF]->(c:Community)
WHERE c.method = $method AND c.graph_id IN $ids
  AND (CASE WHEN $noattr THEN c.hash_noattr ELSE c.hash END) IN $hashes
RETURN CASE WHEN $noattr THEN c.hash_noattr ELSE c.hash END AS hash, c.graph_id AS graph_id, c.k AS k,
       c.community_id AS community_id, o.idx AS idx, o.op_type AS op_type
