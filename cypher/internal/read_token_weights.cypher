// name: read_token_weights
// description: Internal (younger_graph.arch.backfill): what an embedding reads of the weighted layers of the given graphs (attributes of convolutions, initializers), one row per graph (lists in one order, never null).
// param: ids list[str]
// mode: read
MATCH (g:Graph)-[:CONTAINS]->(o:Operator)
WHERE g.graph_id IN $ids
  AND o.op_type IN ['Conv', 'ConvTranspose', 'MatMul', 'Gemm', 'Gather', 'LayerNormalization', 'RMSNormalization',
                    'BatchNormalization', 'InstanceNormalization', 'GroupNormalization', 'LSTM', 'GRU', 'RNN',
                    'Embedding']
RETURN g.graph_id AS graph_id, collect(o.idx) AS idx,
       collect(CASE WHEN o.op_type IN ['Conv', 'ConvTranspose'] THEN coalesce(o.attrs, '') ELSE '' END) AS attrs,
       collect(coalesce(o.initializers, '')) AS initializers
