// name: embedding_counts
// description: Internal (younger_graph.arch): how many graphs there are, how many have the architecture view, and each embedding.
// mode: read
MATCH (g:Graph)
RETURN count(g) AS graphs,
       sum(CASE WHEN g.arch_num_nodes IS NULL THEN 0 ELSE 1 END) AS with_view,
       sum(CASE WHEN g.embedding_arch IS NULL THEN 0 ELSE 1 END) AS with_arch,
       sum(CASE WHEN g.embedding_exact IS NULL THEN 0 ELSE 1 END) AS with_exact
