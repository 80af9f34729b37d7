// name: stats_task_graphs
// description: Stats: the graphs of the models of one task (the graph set of `stats --task`).
// param: task str = ''
// mode: read
MATCH (m:Model)-[:INSTANCE_OF]->(g:Graph)
WHERE m.task = $task
RETURN DISTINCT g.graph_id AS graph_id
ORDER BY graph_id
