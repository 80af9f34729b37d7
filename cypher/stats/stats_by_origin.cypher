// name: stats_by_origin
// description: Stats: models (ok / failed) and distinct graphs per origin ('' when the metadata has none).
// param: task str = null
// param: graph_ids list[str] = null
// mode: read
MATCH (m:Model)
WHERE ($task IS NULL OR m.task = $task) AND ($graph_ids IS NULL OR m.graph_id IN $graph_ids)
RETURN coalesce(m.origin, '') AS origin, count(m) AS models,
       sum(CASE WHEN m.status = 'ok' THEN 1 ELSE 0 END) AS models_ok,
       sum(CASE WHEN m.status = 'ok' THEN 0 ELSE 1 END) AS models_failed,
       count(DISTINCT m.graph_id) AS graphs
ORDER BY models DESC, origin
