#!/bin/sh
# Development build: compile the extension in release mode and drop it where Python imports it
# (younger_graph/walk/_native.abi3.so). The packaged build goes through setuptools-rust instead.
set -e
cd "$(dirname "$0")"
PYTHON="${PYO3_PYTHON:-../.venv/bin/python}"
PYO3_PYTHON="$PYTHON" cargo build --release "$@"
mkdir -p ../younger_graph/walk
[ -f ../younger_graph/walk/__init__.py ] || : > ../younger_graph/walk/__init__.py
cp target/release/libyounger_graph_native.so ../younger_graph/walk/_native.abi3.so
