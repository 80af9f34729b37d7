// name: community_counts
// description: Internal (younger_graph.communities): communities of a method in the store, and their distinct subgraph hashes.
// param: method str
// mode: read
MATCH (c:Community)
WHERE c.method = $method
RETURN count(c) AS communities, count(DISTINCT c.hash) AS unique_hash,
       count(DISTINCT c.hash_noattr) AS unique_noattr
