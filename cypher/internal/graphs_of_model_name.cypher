// name: graphs_of_model_name
// description: Internal (younger_graph.arch.similar): the graphs of the successfully extracted models with this name.
// param: name str
// mode: read
MATCH (m:Model)
WHERE m.name = $name AND m.status = 'ok' AND m.graph_id IS NOT NULL
RETURN DISTINCT m.graph_id AS graph_id
ORDER BY graph_id
