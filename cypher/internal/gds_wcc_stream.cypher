// name: gds_wcc_stream
// description: Internal (younger_graph.communities, Neo4j only): weakly connected components of a projected GDS graph, per operator.
// param: name str
// mode: write
CALL gds.wcc.stream($name) YIELD nodeId, componentId
WITH gds.util.asNode(nodeId) AS o, componentId
RETURN o.graph_id AS graph_id, o.idx AS idx, componentId AS component
