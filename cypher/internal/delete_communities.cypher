// name: delete_communities
// description: Internal (younger_graph.communities): delete the communities of one method in the given graphs (communities --force).
// param: ids list[str]
// param: method str
// mode: write
MATCH (c:Community)
WHERE c.graph_id IN $ids AND c.method = $method
DETACH DELETE c
