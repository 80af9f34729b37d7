// name: graphs_by_task
// description: Models and unique architectures per task and origin (from the models' metadata).
// mode: read
MATCH (m:Model)
WHERE m.status = 'ok'
RETURN coalesce(m.task, '') AS task, coalesce(m.origin, '') AS origin, count(*) AS models,
       count(DISTINCT m.graph_id) AS graphs
ORDER BY models DESC, task, origin
