// name: shared_architectures
// description: Architectures shared by several models, with the models' names.
// param: min_models int = 2
// mode: read
MATCH (m:Model)-[:INSTANCE_OF]->(g:Graph)
WITH g, count(m) AS models, collect(m.name) AS names
WHERE models >= $min_models
RETURN g.graph_id AS graph_id, g.num_operators AS num_operators, models, names
ORDER BY models DESC, graph_id
