// name: gds_version
// description: Internal (younger_graph.communities, Neo4j only): the Graph Data Science version, or an error without GDS.
// mode: read
CALL gds.version() YIELD gdsVersion
RETURN gdsVersion
