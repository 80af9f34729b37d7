// name: view_target
// description: Internal (younger_graph.viewer): the graphs a view target names, as a graph_id, a model name or a model_id.
// param: target str
// mode: read
MATCH (g:Graph)
WHERE g.graph_id = $target
RETURN g.graph_id AS graph_id, 'graph_id' AS matched
UNION
MATCH (m:Model)-[:INSTANCE_OF]->(g:Graph)
WHERE m.name = $target OR m.model_id = $target
RETURN g.graph_id AS graph_id, 'model' AS matched
