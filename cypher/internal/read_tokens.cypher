// name: read_tokens
// description: Internal (younger_graph.arch.backfill): what an embedding reads of each operator of the given graphs (attributes of convolutions, initializers of weighted layers), one row per graph (lists in one order; never null, as collect drops nulls).
// param: ids list[str]
// mode: read
MATCH (g:Graph)-[:CONTAINS]->(o:Operator)
WHERE g.graph_id IN $ids
RETURN g.graph_id AS graph_id, collect(o.idx) AS idx, collect(coalesce(o.op_type, '')) AS op_type,
       collect(coalesce(o.domain, '')) AS domain,
       collect(CASE WHEN o.op_type IN ['Conv', 'ConvTranspose'] THEN coalesce(o.attrs, '') ELSE '' END) AS attrs,
       collect(CASE WHEN o.op_type IN ['Conv', 'ConvTranspose', 'MatMul', 'Gemm', 'Gather', 'LayerNormalization',
                                       'RMSNormalization', 'BatchNormalization', 'InstanceNormalization',
                                       'GroupNormalization', 'LSTM', 'GRU', 'RNN', 'Embedding']
                    THEN coalesce(o.initializers, '') ELSE '' END) AS initializers
