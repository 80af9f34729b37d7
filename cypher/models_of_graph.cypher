// name: models_of_graph
// description: The models (provenance) that share one architecture.
// param: graph_id str
// mode: read
MATCH (m:Model)-[:INSTANCE_OF]->(g:Graph {graph_id: $graph_id})
RETURN m.model_id AS model_id, m.name AS name, m.source AS source, m.task AS task, m.origin AS origin
ORDER BY name, model_id
