//! younger-graph's native extraction core: ONNX model bytes → the operator, edge and graph rows of
//! the Python walker (younger_graph/extract/onnx_graph.py), byte for byte. See README.md.

pub mod attrs;
pub mod columns;
pub mod extract;
pub mod hash;
pub mod metrics;
pub mod model;
pub mod text;
pub mod walk;
pub mod wire;

#[cfg(feature = "python")]
mod arrow;
#[cfg(feature = "python")]
mod python;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
