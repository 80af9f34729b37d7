// name: read_tokens
// description: Internal (younger_graph.arch.backfill): what an embedding reads of each operator of the given graphs (attributes of convolutions, initializers of weighted layers).
// param: ids list[str]
// mode: read
MATCH (g:Graph)-[:CONTAINS]->(o:Operator)
WHERE g.graph_id IN $ids
RETURN g.graph_id AS graph_id, o.idx AS idx, o.op_type AS op_type, o.domain AS domain,
       CASE WHEN o.op_type IN ['Conv', 'ConvTranspose'] THEN o.attrs ELSE '' END AS attrs,
       CASE WHEN o.op_type IN ['Conv', 'ConvTranspose', 'MatMul', 'Gemm', 'Gather', 'LayerNormalization',
                               'RMSNormalization', 'BatchNormalization', 'InstanceNormalization',
                               'GroupNormalization', 'LSTM', 'GRU', 'RNN', 'Embedding']
            THEN o.initializers ELSE '' END AS initializers
