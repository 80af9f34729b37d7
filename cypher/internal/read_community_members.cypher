// name: read_community_members
// description: Internal (younger_graph.reading): the communities of one method in the given graphs, one row per member operator.
// param: ids list[str]
// param: method str
// mode: read
MATCH (o:Operator)-[:MEMBER_OF]->(c:Community)
WHERE c.graph_id IN $ids AND c.method = $method
RETURN c.graph_id AS graph_id, c.k AS k, c.community_id AS community_id, c.hash AS hash,
       c.hash_noattr AS hash_noattr, o.idx AS idx
