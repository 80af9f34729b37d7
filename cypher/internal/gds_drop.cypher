// name: gds_drop
// description: Internal (younger_graph.communities, Neo4j only): drop a projected GDS graph.
// param: name str
// mode: write
CALL gds.graph.drop($name, false) YIELD graphName
RETURN graphName
