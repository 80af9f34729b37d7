// name: graph_labels
// description: Internal (younger_graph.arch.similar): what to show beside a graph id: its models' names and tasks, its architecture hash and size.
// param: ids list[str]
// mode: read
MATCH (g:Graph)
WHERE g.graph_id IN $ids
OPTIONAL MATCH (m:Model)-[:INSTANCE_OF]->(g)
RETURN g.graph_id AS graph_id, g.graph_id_arch AS graph_id_arch, g.num_operators AS num_operators,
       g.arch_num_operators AS arch_num_operators, collect(DISTINCT m.name) AS models,
       collect(DISTINCT m.task) AS tasks, collect(DISTINCT m.origin) AS origins
