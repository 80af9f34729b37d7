"""`python -m younger_graph.cli`: the same as the `younger-graph` command."""

from younger_graph.cli import main

main()
