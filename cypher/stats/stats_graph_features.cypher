// name: stats_graph_features
// description: Stats: how many graphs have control flow, subgraphs, functions, custom domains, several components, a cycle.
// param: graph_ids list[str] = null
// mode: read
MATCH (g:Graph)
WHERE $graph_ids IS NULL OR g.graph_id IN $graph_ids
RETURN count(g) AS graphs,
       sum(CASE WHEN g.has_control_flow THEN 1 ELSE 0 END) AS control_flow,
       sum(CASE WHEN g.num_subgraphs > 0 THEN 1 ELSE 0 END) AS subgraphs,
       sum(CASE WHEN g.num_functions > 0 THEN 1 ELSE 0 END) AS functions,
       sum(CASE WHEN g.has_custom_domain THEN 1 ELSE 0 END) AS custom_domain,
       sum(CASE WHEN g.num_components > 1 THEN 1 ELSE 0 END) AS multi_component,
       sum(CASE WHEN g.depth < 0 THEN 1 ELSE 0 END) AS cyclic,
       sum(CASE WHEN g.depth IS NULL THEN 1 ELSE 0 END) AS missing_metrics
