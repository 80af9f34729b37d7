// name: grouped_convolutions
// description: Convolutions by group count (attr_group ≥ min_group): depthwise and grouped convs per graph.
// param: min_group int = 2
// mode: read
MATCH (o:Operator)
WHERE o.op_type = 'Conv' AND o.attr_group >= $min_group
RETURN o.attr_group AS group_count, count(*) AS operators, count(DISTINCT o.graph_id) AS graphs
ORDER BY group_count
