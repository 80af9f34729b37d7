// name: operators_by_attribute
// description: Operators of a type whose canonical attribute JSON contains a fragment, e.g. '"kernel_shape":[7,7]'.
// param: op_type str
// param: fragment str = ''
// param: top int = 100
// mode: read
MATCH (o:Operator)
WHERE o.op_type = $op_type AND ($fragment = '' OR o.attrs CONTAINS $fragment)
RETURN o.attrs AS attrs, count(*) AS operators, count(DISTINCT o.graph_id) AS graphs
ORDER BY operators DESC, attrs
LIMIT $top
