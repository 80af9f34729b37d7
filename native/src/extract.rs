//! One model file or buffer → header, graph row and columns, or the one-line error the Python
//! side writes (younger_graph/extract/model_file.py `extract_file`): read and parse errors are
//! prefixed by the file's name, walker errors are not.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::io::Read;

use sha2::{Digest, Sha256};

use crate::hash::{graph_hash, prepare, Structure};
use crate::metrics::metrics;
use crate::model::decode_model;
use crate::walk::{model_to_built, Built, WalkError, KIND_INPUT, KIND_OPERATOR, KIND_OUTPUT};
use crate::wire::{DecodeError, MAX_DEPTH};

/// The ONNX header fields of a models row.
pub struct Header {
    pub ir_version: i64,
    /// `{"ai.onnx": 17, ...}`, canonical JSON.
    pub opsets: String,
    /// `producer_name producer_version`.
    pub producer: String,
}

/// An extracted graph: graphs.parquet columns (but `op_type_entropy`, see metrics.rs) and the
/// operator and edge columns.
pub struct Extracted {
    pub graph_id: String,
    pub graph_id_noattr: String,
    pub num_nodes: i64,
    pub num_operators: i64,
    pub num_edges: i64,
    pub num_inputs: i64,
    pub num_outputs: i64,
    pub num_subgraphs: i64,
    pub num_functions: i64,
    pub num_initializers: i64,
    pub num_dangling: i64,
    pub num_components: i64,
    pub max_in_degree: i64,
    pub max_out_degree: i64,
    pub depth: i64,
    pub width: i64,
    pub num_op_types: i64,
    pub has_control_flow: bool,
    pub has_custom_domain: bool,
    /// Operator count per distinct op_type (for `op_type_entropy`).
    pub op_counts: Vec<u64>,
    pub built: Built,
}

pub enum Failure {
    /// A finished message (read and parse errors carry the file's name already).
    Message(String),
    /// The cycle error, whose node name Python spells with `repr()`.
    Cycle {
        remaining: usize,
        op_type: String,
        name: String,
    },
}

pub struct Outcome {
    pub header: Option<Header>,
    pub result: Result<Extracted, Failure>,
}

impl Outcome {
    fn failed(message: String) -> Self {
        Outcome {
            header: None,
            result: Err(Failure::Message(message)),
        }
    }
}

/// `f"{basename} {message}"` as extract_file writes read and parse errors (no name: the message).
pub fn prefixed(name: Option<&str>, message: &str) -> String {
    match name {
        Some(n) => format!("{n} {message}"),
        None => message.to_string(),
    }
}

/// model_file.py `parse_model` + `extract_model` + GraphBuilder.finish.
pub fn extract_bytes(data: &[u8], name: Option<&str>) -> Outcome {
    if data.is_empty() {
        return Outcome::failed(prefixed(name, "is empty (0 bytes)"));
    }
    let model = match decode_model(data, MAX_DEPTH) {
        Ok(m) => m,
        Err(DecodeError::MaxDepth) => {
            return Outcome::failed(prefixed(
                name,
                "nests subgraphs deeper than the protobuf parser allows",
            ))
        }
        Err(e) => {
            let text = format!(
                "is not a valid ONNX protobuf (Error parsing message with type 'onnx.ModelProto': {})",
                e.upb_text()
            );
            return Outcome::failed(prefixed(name, &text));
        }
    };
    let mut opsets: BTreeMap<&str, i64> = BTreeMap::new();
    for (domain, version) in &model.opset_import {
        opsets.insert(if domain.is_empty() { "ai.onnx" } else { domain }, *version);
    }
    let mut opsets_json = String::from("{");
    for (k, (domain, version)) in opsets.iter().enumerate() {
        if k > 0 {
            opsets_json.push(',');
        }
        crate::text::push_json_str(&mut opsets_json, domain);
        let _ = write!(opsets_json, ":{version}");
    }
    opsets_json.push('}');
    let producer = [&*model.producer_name, &*model.producer_version]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let header = Header {
        ir_version: model.ir_version,
        opsets: opsets_json,
        producer,
    };
    let walked = match model_to_built(&model) {
        Ok(w) => w,
        Err(WalkError::Message(m)) => {
            return Outcome {
                header: Some(header),
                result: Err(Failure::Message(m)),
            }
        }
        Err(WalkError::Cycle {
            remaining,
            op_type,
            name,
        }) => {
            return Outcome {
                header: Some(header),
                result: Err(Failure::Cycle {
                    remaining,
                    op_type,
                    name,
                }),
            }
        }
    };
    drop(model);
    Outcome {
        header: Some(header),
        result: Ok(finish(walked)),
    }
}

/// graph.py `GraphBuilder.finish`: both hashes, counts and metrics.
fn finish(w: crate::walk::Walked) -> Extracted {
    let b = w.b;
    let structure = Structure {
        src: &b.e_src,
        src_slot: &b.e_src_slot,
        dst: &b.e_dst,
        dst_slot: &b.e_dst_slot,
        parent: &b.s_parent,
        child: &b.s_child,
        nest: &b.s_label,
    };
    let prepared = prepare(&structure);
    let graph_id = graph_hash(&b.label, &structure, &prepared);
    let graph_id_noattr = graph_hash(&b.label_noattr, &structure, &prepared);
    let n = b.num_nodes();
    let m = metrics(n, &b.e_src, &b.e_dst);
    let mut num_inputs = 0;
    let mut num_outputs = 0;
    for (i, &k) in b.kind.iter().enumerate() {
        if (k == KIND_INPUT || k == KIND_OUTPUT) && b.scope.offsets[i] == b.scope.offsets[i + 1] {
            if k == KIND_INPUT {
                num_inputs += 1;
            } else {
                num_outputs += 1;
            }
        }
    }
    Extracted {
        graph_id,
        graph_id_noattr,
        num_nodes: n as i64,
        num_operators: b.kind.iter().filter(|&&k| k == KIND_OPERATOR).count() as i64,
        num_edges: b.e_src.len() as i64,
        num_inputs,
        num_outputs,
        num_subgraphs: b.num_subgraphs,
        num_functions: b.num_functions,
        num_initializers: b.num_initializers,
        num_dangling: b.num_dangling,
        num_components: m.num_components,
        max_in_degree: m.max_in_degree,
        max_out_degree: m.max_out_degree,
        depth: m.depth,
        width: m.width,
        num_op_types: w.num_op_types as i64,
        has_control_flow: w.control_flow,
        has_custom_domain: w.custom_domain,
        op_counts: w.op_counts,
        built: b,
    }
}

// -- files -------------------------------------------------------------------------------------
/// The text of an OS error as Python's `exc.strerror` gives it (C's strerror).
fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// model_file.py `read_source_bytes` checks: the open file and its size, or the error text.
fn open_source(path: &str) -> Result<(std::fs::File, usize), String> {
    const ELOOP: i32 = 40;
    const ENOENT: i32 = 2;
    let os_error = |e: std::io::Error| match e.raw_os_error() {
        Some(ELOOP) => "is a symbolic link loop".to_string(),
        Some(ENOENT) => "does not exist".to_string(),
        _ => format!("cannot be read ({})", strerror(&e)),
    };
    if std::fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false) {
        return Err("is a directory, not an ONNX file".to_string());
    }
    let meta = std::fs::metadata(path).map_err(os_error)?;
    if !meta.is_file() {
        return Err("is not a regular file (a pipe, socket or device)".to_string());
    }
    let file = std::fs::File::open(path).map_err(os_error)?;
    let size = file.metadata().map(|m| m.len() as usize).unwrap_or(0);
    Ok((file, size))
}

/// Reads the rest of `file` into `buf` from `got` on (growing it if the file grew).
fn read_rest(file: &mut std::fs::File, buf: &mut Vec<u8>, mut got: usize) -> Result<usize, String> {
    loop {
        if got == buf.len() {
            buf.resize(buf.len().max(4096) * 2, 0);
        }
        match file.read(&mut buf[got..]) {
            Ok(0) => return Ok(got),
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("cannot be read ({})", strerror(&e))),
        }
    }
}

/// model_file.py `read_source_bytes`: the whole file into `buf` (reused from file to file).
pub fn read_file(path: &str, buf: &mut Vec<u8>) -> Result<usize, String> {
    let (mut file, size) = open_source(path)?;
    if buf.len() < size + 1 {
        buf.resize(size + 1, 0);
    }
    read_rest(&mut file, buf, 0)
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Files at least this big are hashed on a second thread while they are parsed and walked.
const OVERLAP_BYTES: usize = 256 * 1024;

/// os.path.basename(path) or path.
pub fn basename(path: &str) -> &str {
    let base = match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    };
    if base.is_empty() {
        path
    } else {
        base
    }
}

/// Bytes read per step while a helper thread hashes what is already read.
const CHUNK: usize = 4 << 20;

/// `extract_file(path)`: (sha256, size, outcome); sha256 and size are None when the file could
/// not be read. With `overlap`, a big file is hashed on a helper thread chunk by chunk as it is
/// read, and the hashing goes on while the bytes are parsed and walked.
pub fn extract_path(
    path: &str,
    buf: &mut Vec<u8>,
    overlap: bool,
) -> (Option<String>, Option<usize>, Outcome) {
    let name = basename(path);
    let failed = |m: String| (None, None, Outcome::failed(prefixed(Some(name), &m)));
    let (mut file, size) = match open_source(path) {
        Ok(x) => x,
        Err(m) => return failed(m),
    };
    if buf.len() < size + 1 {
        buf.resize(size + 1, 0);
    }
    if !(overlap && size >= OVERLAP_BYTES) {
        let got = match read_rest(&mut file, buf, 0) {
            Ok(n) => n,
            Err(m) => return failed(m),
        };
        let data = &buf[..got];
        return (
            Some(sha256_hex(data)),
            Some(got),
            extract_bytes(data, Some(name)),
        );
    }
    let capacity = buf.len();
    let base = buf.as_mut_ptr();
    let piped = std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel::<&[u8]>();
        let hasher = s.spawn(move || {
            let mut h = Sha256::new();
            for chunk in rx {
                h.update(chunk);
            }
            h.finalize()
        });
        // SAFETY: `base..base+capacity` is `buf`, borrowed mutably for the whole scope and used
        // only through slices derived from `base`: each chunk is written once through the mutable
        // remainder, then only read (by the hasher and, once reading is over, the parser).
        let mut rest: &mut [u8] = unsafe { std::slice::from_raw_parts_mut(base, capacity) };
        let mut got = 0usize;
        let outcome = loop {
            if rest.is_empty() {
                break Err(None); // the file grew since it was measured: read it again, plainly
            }
            let want = rest.len().min(CHUNK);
            match file.read(&mut rest[..want]) {
                Ok(0) => break Ok(()),
                Ok(k) => {
                    let (filled, tail) = std::mem::take(&mut rest).split_at_mut(k);
                    let filled: &[u8] = filled;
                    let _ = tx.send(filled);
                    rest = tail;
                    got += k;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(Some(format!("cannot be read ({})", strerror(&e)))),
            }
        };
        drop(tx);
        match outcome {
            Ok(()) => {
                let data: &[u8] = unsafe { std::slice::from_raw_parts(base, got) };
                let result = extract_bytes(data, Some(name));
                let digest = hasher
                    .join()
                    .map(|d| hex(&d))
                    .unwrap_or_else(|_| sha256_hex(data));
                Ok((digest, got, result))
            }
            Err(e) => {
                let _ = hasher.join();
                Err(e)
            }
        }
    });
    match piped {
        Ok((sha, got, outcome)) => (Some(sha), Some(got), outcome),
        Err(Some(m)) => failed(m),
        Err(None) => match read_file(path, buf) {
            Ok(got) => {
                let data = &buf[..got];
                (
                    Some(sha256_hex(data)),
                    Some(got),
                    extract_bytes(data, Some(name)),
                )
            }
            Err(m) => failed(m),
        },
    }
}
