// name: read_graph_models
// description: Internal (younger_graph.reading): the Model nodes of the given graphs, whole (every property), for to-onnx opsets and metadata splits.
// param: ids list[str]
// mode: read
MATCH (m:Model)-[:INSTANCE_OF]->(g:Graph)
WHERE g.graph_id IN $ids
RETURN g.graph_id AS graph_id, m.model_id AS model_id, m AS model
