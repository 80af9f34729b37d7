//! The extension module `younger_graph.walk._native`.
//!
//! Every function releases the GIL while it reads, hashes, parses, walks and hashes the graph;
//! it is taken again only to build the result objects. A panic in the Rust code becomes the
//! file's error (`native extractor failed: ...`), never a crash.

use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyCapsule, PyDict, PyList, PyString, PyTuple};

use crate::arrow::{drop_array, drop_schema, export_batch, Column, FfiArray, FfiSchema};
use crate::columns::StrCol;
use crate::extract::{
    basename, extract_bytes as core_extract_bytes, extract_path as core_extract_path, Failure,
    Outcome,
};
use crate::walk::KIND_NAMES;

/// What one file gave, before it meets Python.
struct FileResult {
    sha256: Option<String>,
    num_bytes: Option<usize>,
    outcome: Outcome,
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

fn panicked(name: Option<&str>, payload: Box<dyn std::any::Any + Send>) -> Outcome {
    let text = panic_text(payload);
    let first = text.lines().next().unwrap_or("").trim();
    let message = crate::extract::prefixed(name, &format!("native extractor failed: {first}"));
    Outcome {
        header: None,
        result: Err(Failure::Message(message)),
    }
}

thread_local! {
    static READ_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn run_path(path: &str, overlap: bool) -> FileResult {
    let result = catch_unwind(AssertUnwindSafe(|| {
        READ_BUFFER.with(|buf| {
            let mut buf = buf.borrow_mut();
            core_extract_path(path, &mut buf, overlap)
        })
    }));
    match result {
        Ok((sha256, num_bytes, outcome)) => FileResult {
            sha256,
            num_bytes,
            outcome,
        },
        Err(payload) => FileResult {
            sha256: None,
            num_bytes: None,
            outcome: panicked(Some(basename(path)), payload),
        },
    }
}

// -- results as Python objects ----------------------------------------------------------------
static IMPORT_BATCH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn import_batch<'py>(
    py: Python<'py>,
    columns: Vec<(&str, Column)>,
    length: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let (schema, array) = export_batch(columns, length);
    let schema = PyCapsule::new_with_destructor(
        py,
        schema,
        Some(CString::new("arrow_schema").unwrap()),
        |s: FfiSchema, _| drop_schema(s),
    )?;
    let array = PyCapsule::new_with_destructor(
        py,
        array,
        Some(CString::new("arrow_array").unwrap()),
        |a: FfiArray, _| drop_array(a),
    )?;
    let import = IMPORT_BATCH.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py
            .import("pyarrow")?
            .getattr("RecordBatch")?
            .getattr("_import_from_c_capsule")?
            .unbind())
    })?;
    import.bind(py).call1((schema, array))
}

fn result_to_py<'py>(py: Python<'py>, outcome: Outcome) -> PyResult<Bound<'py, PyTuple>> {
    let header = match &outcome.header {
        Some(h) => {
            let d = PyDict::new(py);
            d.set_item("ir_version", h.ir_version)?;
            d.set_item("opsets", &h.opsets)?;
            d.set_item("producer", &h.producer)?;
            d.into_any()
        }
        None => py.None().into_bound(py),
    };
    let none = || py.None().into_bound(py);
    match outcome.result {
        Err(Failure::Message(m)) => PyTuple::new(
            py,
            [
                header,
                PyString::new(py, &m).into_any(),
                none(),
                none(),
                none(),
            ],
        ),
        Err(Failure::Cycle {
            remaining,
            op_type,
            name,
        }) => {
            let name_repr = PyString::new(py, &name).repr()?;
            let m = format!(
                "the graph has a cycle ({remaining} nodes on or after it, e.g. {op_type} {}), but ONNX graphs must be acyclic",
                name_repr.to_str()?
            );
            PyTuple::new(
                py,
                [
                    header,
                    PyString::new(py, &m).into_any(),
                    none(),
                    none(),
                    none(),
                ],
            )
        }
        Ok(x) => {
            let g = PyDict::new(py);
            g.set_item("graph_id", &x.graph_id)?;
            g.set_item("graph_id_noattr", &x.graph_id_noattr)?;
            for (k, v) in [
                ("num_nodes", x.num_nodes),
                ("num_operators", x.num_operators),
                ("num_edges", x.num_edges),
                ("num_inputs", x.num_inputs),
                ("num_outputs", x.num_outputs),
                ("num_subgraphs", x.num_subgraphs),
                ("num_functions", x.num_functions),
                ("num_initializers", x.num_initializers),
                ("num_dangling", x.num_dangling),
                ("num_components", x.num_components),
                ("max_in_degree", x.max_in_degree),
                ("max_out_degree", x.max_out_degree),
                ("depth", x.depth),
                ("width", x.width),
                ("num_op_types", x.num_op_types),
            ] {
                g.set_item(k, v)?;
            }
            g.set_item("has_control_flow", x.has_control_flow)?;
            g.set_item("has_custom_domain", x.has_custom_domain)?;
            g.set_item("op_type_counts", PyList::new(py, &x.op_counts)?)?;
            if std::env::var_os("YG_NATIVE_DEBUG").is_some() {
                g.set_item("_labels", PyList::new(py, &x.built.label)?)?;
            }
            let b = x.built;
            let n = b.kind.len();
            let m = b.e_src.len();
            let (ops_cols, edge_cols) = py.detach(|| {
                let mut kind = StrCol::new();
                for &k in &b.kind {
                    kind.push(KIND_NAMES[k as usize]);
                }
                let ops = vec![
                    ("graph_id", Column::Utf8(StrCol::repeated(&x.graph_id, n))),
                    ("idx", Column::Int32((0..n as i32).collect())),
                    ("kind", Column::Utf8(kind)),
                    ("op_type", Column::Utf8(b.op_type)),
                    ("domain", Column::Utf8(b.domain)),
                    ("scope", Column::Utf8(b.scope)),
                    ("name", Column::Utf8(b.name)),
                    ("attrs", Column::Utf8(b.attrs)),
                    ("initializers", Column::Utf8(b.initializers)),
                ];
                let edges = vec![
                    ("graph_id", Column::Utf8(StrCol::repeated(&x.graph_id, m))),
                    ("src", Column::Int32(b.e_src)),
                    ("src_slot", Column::Int32(b.e_src_slot)),
                    ("dst", Column::Int32(b.e_dst)),
                    ("dst_slot", Column::Int32(b.e_dst_slot)),
                    ("scope", Column::Utf8(b.e_scope)),
                    ("tensor", Column::Utf8(b.e_tensor)),
                    ("dtype", Column::Utf8(b.e_dtype)),
                    ("shape", Column::Utf8(b.e_shape)),
                ];
                (ops, edges)
            });
            let too_big = ops_cols
                .iter()
                .chain(&edge_cols)
                .any(|(_, c)| matches!(c, Column::Utf8(s) if !s.fits()));
            if too_big {
                let m = crate::walk::TOO_BIG;
                return PyTuple::new(
                    py,
                    [
                        header,
                        PyString::new(py, m).into_any(),
                        none(),
                        none(),
                        none(),
                    ],
                );
            }
            let ops = import_batch(py, ops_cols, n)?;
            let edges = import_batch(py, edge_cols, m)?;
            PyTuple::new(py, [header, none(), g.into_any(), ops, edges])
        }
    }
}

fn file_result_to_py<'py>(py: Python<'py>, r: FileResult) -> PyResult<Bound<'py, PyTuple>> {
    let result = result_to_py(py, r.outcome)?;
    PyTuple::new(
        py,
        [
            r.sha256.into_pyobject(py)?.into_any(),
            r.num_bytes.into_pyobject(py)?.into_any(),
            result.into_any(),
        ],
    )
}

// -- the functions ------------------------------------------------------------------------------
/// The crate version.
#[pyfunction]
fn version() -> &'static str {
    crate::VERSION
}

/// Extracts one model from its bytes. `name`: the file name that read and parse errors start with
/// (as extract_file writes them); without it they are the bare message. Returns
/// `(header, error, graph, operators, edges)`.
#[pyfunction]
#[pyo3(signature = (data, name=None))]
fn extract_bytes<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    name: Option<String>,
) -> PyResult<Bound<'py, PyTuple>> {
    let owned;
    let bytes: &Bound<'py, PyBytes> = match data.cast::<PyBytes>() {
        Ok(b) => b,
        Err(_) => {
            owned = py
                .import("builtins")?
                .getattr("bytes")?
                .call1((data,))?
                .cast_into::<PyBytes>()?;
            &owned
        }
    };
    let slice = bytes.as_bytes();
    let outcome = py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| {
            core_extract_bytes(slice, name.as_deref())
        }))
        .unwrap_or_else(|payload| panicked(name.as_deref(), payload))
    });
    result_to_py(py, outcome)
}

/// Reads, hashes (sha256, overlapped with the parse for big files) and extracts one model file.
/// Returns `(sha256_hex | None, num_bytes | None, (header, error, graph, operators, edges))`.
#[pyfunction]
#[pyo3(signature = (path, overlap_hash=true))]
fn extract_path<'py>(
    py: Python<'py>,
    path: String,
    overlap_hash: bool,
) -> PyResult<Bound<'py, PyTuple>> {
    let r = py.detach(|| run_path(&path, overlap_hash));
    file_result_to_py(py, r)
}

/// A panic inside the extractor, for the test that it becomes an error result.
#[pyfunction]
fn _debug_panic<'py>(py: Python<'py>, message: String) -> PyResult<Bound<'py, PyTuple>> {
    let outcome = py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| -> Outcome { panic!("{}", message) }))
            .unwrap_or_else(|payload| panicked(Some("debug.onnx"), payload))
    });
    result_to_py(py, outcome)
}

// -- many files on a Rust thread pool -----------------------------------------------------------
struct Shared {
    paths: Vec<String>,
    slots: Mutex<Vec<Option<FileResult>>>,
    ready: Condvar,
    room: Condvar,
    next: AtomicUsize,
    consumed: AtomicUsize,
    stop: AtomicBool,
    window: usize,
    overlap: bool,
}

/// Iterator over `(sha256, num_bytes, result)` for each path, in input order, extracted by a pool
/// of Rust threads (at most `window` files ahead of the consumer).
#[pyclass(module = "younger_graph.walk._native")]
struct PathResults {
    shared: Arc<Shared>,
    position: usize,
}

fn worker(shared: Arc<Shared>) {
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        if i >= shared.paths.len() {
            return;
        }
        {
            // wait until the consumer is within the window
            let mut slots = shared.slots.lock().unwrap_or_else(|e| e.into_inner());
            while i >= shared.consumed.load(Ordering::Acquire) + shared.window
                && !shared.stop.load(Ordering::Relaxed)
            {
                slots = shared.room.wait(slots).unwrap_or_else(|e| e.into_inner());
            }
            drop(slots);
        }
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let r = run_path(&shared.paths[i], shared.overlap);
        let mut slots = shared.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots[i] = Some(r);
        drop(slots);
        shared.ready.notify_all();
    }
}

#[pymethods]
impl PathResults {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let i = self.position;
        if i >= self.shared.paths.len() {
            return Ok(None);
        }
        let shared = self.shared.clone();
        let r = py.detach(move || {
            let mut slots = shared.slots.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(r) = slots[i].take() {
                    return r;
                }
                slots = shared.ready.wait(slots).unwrap_or_else(|e| e.into_inner());
            }
        });
        self.position += 1;
        self.shared.consumed.store(self.position, Ordering::Release);
        {
            let _guard = self.shared.slots.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.room.notify_all();
        }
        Ok(Some(file_result_to_py(py, r)?))
    }

    fn __len__(&self) -> usize {
        self.shared.paths.len()
    }
}

impl Drop for PathResults {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let _guard = self.shared.slots.lock().unwrap_or_else(|e| e.into_inner());
        self.shared.room.notify_all();
    }
}

/// `extract_path` over many paths with `threads` Rust threads; yields results in input order.
/// `overlap_hash` (default: only with one thread) hashes big files on a helper thread.
#[pyfunction]
#[pyo3(signature = (paths, threads=1, overlap_hash=None, window=None))]
fn extract_paths(
    paths: Vec<String>,
    threads: usize,
    overlap_hash: Option<bool>,
    window: Option<usize>,
) -> PyResult<PathResults> {
    let threads = threads.max(1);
    let n = paths.len();
    let shared = Arc::new(Shared {
        paths,
        slots: Mutex::new((0..n).map(|_| None).collect()),
        ready: Condvar::new(),
        room: Condvar::new(),
        next: AtomicUsize::new(0),
        consumed: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        window: window.unwrap_or(4 * threads + 4).max(1),
        overlap: overlap_hash.unwrap_or(threads == 1),
    });
    for _ in 0..threads.min(n.max(1)) {
        let s = shared.clone();
        std::thread::Builder::new()
            .name("younger-graph-native".into())
            .stack_size(64 << 20)
            .spawn(move || worker(s))
            .map_err(|e| PyValueError::new_err(format!("cannot start a thread: {e}")))?;
    }
    Ok(PathResults {
        shared,
        position: 0,
    })
}

#[pymodule]
#[pyo3(name = "_native")]
fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(extract_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(extract_path, m)?)?;
    m.add_function(wrap_pyfunction!(extract_paths, m)?)?;
    m.add_function(wrap_pyfunction!(_debug_panic, m)?)?;
    m.add_class::<PathResults>()?;
    m.add("HASH_VERSION", crate::hash::HASH_VERSION)?;
    Ok(())
}
