// name: gds_wcc_project
// description: Internal (younger_graph.communities, Neo4j only): project the operators and flows of the given graphs into a named GDS graph.
// param: ids list[str]
// param: name str
// mode: write
MATCH (g:Graph)-[:CONTAINS]->(s:Operator)
WHERE g.graph_id IN $ids
OPTIONAL MATCH (s)-[:FLOWS]->(t:Operator)
WITH gds.graph.project($name, s, t) AS p
RETURN p.nodeCount AS nodes
