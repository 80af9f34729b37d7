// name: overview
// description: Counts of models (ok / failed), unique architectures, operators and edges in the store.
// mode: read
MATCH (g:Graph)
WITH count(g) AS graphs, sum(g.num_operators) AS operators, sum(g.num_edges) AS edges
MATCH (m:Model)
RETURN count(m) AS models, sum(CASE WHEN m.status = 'ok' THEN 1 ELSE 0 END) AS models_ok,
       graphs, operators, edges, toFloat(count(m)) / CASE WHEN graphs = 0 THEN 1 ELSE graphs END AS models_per_graph
