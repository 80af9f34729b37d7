// name: await_index
// description: Internal (younger_graph.arch.similar, Neo4j only): wait until an index is online (a vector index fills in the background after a load).
// param: index str
// param: seconds int = 300
// mode: read
CALL db.awaitIndex($index, $seconds)
