//! Canonical attribute JSON, as younger_graph/extract/attrs.py renders it through
//! `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.

use std::fmt::Write;

use sha2::{Digest, Sha256};

use crate::model::{Attribute, Sparse, Tensor, TypeP, TypeVal};
use crate::text::{
    char_len, decode, push_canonical_f32, push_json_f64, push_json_str, push_json_str_ascii,
};

pub const MAX_STRING_CHARS: usize = 256;
pub const MAX_LIST_ITEMS: usize = 1024;

/// `onnx.TensorProto.DataType` names, lower case (onnx 1.23: up to FLOAT6E3M2 = 28).
const DTYPE_NAMES: [&str; 29] = [
    "undefined",
    "float",
    "uint8",
    "int8",
    "uint16",
    "int16",
    "int32",
    "int64",
    "string",
    "bool",
    "float16",
    "double",
    "uint32",
    "uint64",
    "complex64",
    "complex128",
    "bfloat16",
    "float8e4m3fn",
    "float8e4m3fnuz",
    "float8e5m2",
    "float8e5m2fnuz",
    "uint4",
    "int4",
    "float4e2m1",
    "float8e8m0",
    "uint2",
    "int2",
    "float6e2m3",
    "float6e3m2",
];

/// The dtype names this build knows, for the test that compares them with the installed onnx.
pub fn dtype_names() -> &'static [&'static str] {
    &DTYPE_NAMES
}

/// attrs.py `dtype_name`: element type number → lower-case name, unknown → `type<N>`.
pub fn push_dtype_name(out: &mut String, elem_type: i32) {
    match usize::try_from(elem_type)
        .ok()
        .and_then(|i| DTYPE_NAMES.get(i))
    {
        Some(name) => out.push_str(name),
        None => {
            let _ = write!(out, "type{elem_type}");
        }
    }
}

pub fn dtype_name(elem_type: i32) -> std::borrow::Cow<'static, str> {
    match usize::try_from(elem_type)
        .ok()
        .and_then(|i| DTYPE_NAMES.get(i))
    {
        Some(name) => std::borrow::Cow::Borrowed(name),
        None => std::borrow::Cow::Owned(format!("type{elem_type}")),
    }
}

fn digest16(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    let mut s = String::with_capacity(16);
    for b in &d[..8] {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn push_ints(out: &mut String, items: &[i64], sep: &str) {
    out.push('[');
    for (k, v) in items.iter().enumerate() {
        if k > 0 {
            out.push_str(sep);
        }
        let _ = write!(out, "{v}");
    }
    out.push(']');
}

/// `{"dtype":"float","shape":[1,2]}` (tensor_summary), `"sparse":true` added for sparse ones;
/// `compact` false gives json.dumps' default separators (", " and ": ").
fn push_summary(out: &mut String, data_type: i32, dims: &[i64], sparse: bool, compact: bool) {
    let (comma, colon) = if compact { (",", ":") } else { (", ", ": ") };
    out.push_str("{\"dtype\"");
    out.push_str(colon);
    out.push('"');
    push_dtype_name(out, data_type); // names are plain ASCII
    out.push('"');
    out.push_str(comma);
    out.push_str("\"shape\"");
    out.push_str(colon);
    push_ints(out, dims, comma);
    if sparse {
        out.push_str(comma);
        out.push_str("\"sparse\"");
        out.push_str(colon);
        out.push_str("true");
    }
    out.push('}');
}

pub fn push_tensor_summary(out: &mut String, t: &Tensor) {
    push_summary(out, t.data_type, &t.dims, false, true);
}

pub fn push_sparse_summary(out: &mut String, s: &Sparse) {
    push_summary(out, s.values.data_type, &s.dims, true, true);
}

/// attrs.py `canonical_string`: the text, cut at 256 characters plus the byte count and digest.
fn canonical_string(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    let text = decode(raw);
    if char_len(&text) <= MAX_STRING_CHARS {
        return text;
    }
    let cut = match text.char_indices().nth(MAX_STRING_CHARS) {
        Some((i, _)) => i,
        None => text.len(),
    };
    let mut s = String::with_capacity(cut + 48);
    s.push_str(&text[..cut]);
    let _ = write!(s, "…[{} bytes sha256:{}]", raw.len(), digest16(raw));
    std::borrow::Cow::Owned(s)
}

/// attrs.py `type_summary`.
pub fn push_type_summary(out: &mut String, tp: &TypeP) {
    match &tp.value {
        TypeVal::Tensor(tt) => {
            out.push_str("tensor(");
            push_dtype_name(out, tt.elem_type);
            out.push(')');
        }
        TypeVal::Sequence(elem) => {
            out.push_str("sequence(");
            push_type_summary(out, elem);
            out.push(')');
        }
        TypeVal::Optional(elem) => {
            out.push_str("optional(");
            push_type_summary(out, elem);
            out.push(')');
        }
        TypeVal::Map => out.push_str("map_type"),
        TypeVal::Opaque => out.push_str("opaque_type"),
        TypeVal::SparseTensor => out.push_str("sparse_tensor_type"),
        TypeVal::None => out.push_str("unknown"),
    }
}

/// `{"truncated": first16, "len": n, "sha256": digest}` in canonical order (keys sorted), where the
/// digest is over `json.dumps(items, sort_keys=True)` (`full`) and `first16` is given rendered.
fn push_truncated(out: &mut String, len: usize, full: &str, first16: &str) {
    let _ = write!(
        out,
        "{{\"len\":{len},\"sha256\":\"{}\",\"truncated\":{first16}}}",
        digest16(full.as_bytes())
    );
}

/// The JSON of one attribute's value (attrs.py `attribute_value`); `scope(k)` names the scope of a
/// GRAPH (k = None) or GRAPHS (k = Some) attribute's body.
pub fn push_attribute_value(
    out: &mut String,
    attr: &Attribute,
    scope: &dyn Fn(Option<usize>) -> String,
) {
    if !attr.ref_attr_name.is_empty() {
        out.push_str("{\"ref\":");
        push_json_str(out, &attr.ref_attr_name);
        out.push('}');
        return;
    }
    match attr.ty {
        2 => {
            let _ = write!(out, "{}", attr.i);
        }
        1 => push_canonical_f32(out, attr.f),
        3 => push_json_str(out, &canonical_string(attr.s)),
        7 => {
            if attr.ints.len() <= MAX_LIST_ITEMS {
                push_ints(out, &attr.ints, ",");
            } else {
                let mut full = String::with_capacity(attr.ints.len() * 8);
                push_ints(&mut full, &attr.ints, ", ");
                let mut first = String::new();
                push_ints(&mut first, &attr.ints[..16], ",");
                push_truncated(out, attr.ints.len(), &full, &first);
            }
        }
        6 => {
            let floats = &attr.floats;
            let push_canonical = |out: &mut String, items: &[f32]| {
                out.push('[');
                for (k, v) in items.iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    push_canonical_f32(out, *v);
                }
                out.push(']');
            };
            if floats.len() <= MAX_LIST_ITEMS {
                push_canonical(out, floats);
            } else {
                let mut full = String::with_capacity(floats.len() * 12);
                full.push('[');
                for (k, v) in floats.iter().enumerate() {
                    if k > 0 {
                        full.push_str(", ");
                    }
                    push_json_f64(&mut full, *v as f64);
                }
                full.push(']');
                let mut first = String::new();
                push_canonical(&mut first, &floats[..16]);
                push_truncated(out, floats.len(), &full, &first);
            }
        }
        8 => {
            let texts: Vec<_> = attr.strings.iter().map(|s| canonical_string(s)).collect();
            let push_list = |out: &mut String, items: &[std::borrow::Cow<str>]| {
                out.push('[');
                for (k, s) in items.iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    push_json_str(out, s);
                }
                out.push(']');
            };
            if texts.len() <= MAX_LIST_ITEMS {
                push_list(out, &texts);
            } else {
                let mut full = String::new();
                full.push('[');
                for (k, s) in texts.iter().enumerate() {
                    if k > 0 {
                        full.push_str(", ");
                    }
                    push_json_str_ascii(&mut full, s);
                }
                full.push(']');
                let mut first = String::new();
                push_list(&mut first, &texts[..16]);
                push_truncated(out, texts.len(), &full, &first);
            }
        }
        4 => {
            out.push_str("{\"tensor\":");
            push_tensor_summary(out, &attr.t);
            out.push('}');
        }
        9 => {
            let items: Vec<(i32, &[i64])> = attr
                .tensors
                .iter()
                .map(|t| (t.data_type, t.dims.as_slice()))
                .collect();
            push_tensor_list(out, &items, false);
        }
        11 => {
            out.push_str("{\"tensor\":");
            push_sparse_summary(out, &attr.sparse_tensor);
            out.push('}');
        }
        12 => {
            let items: Vec<(i32, &[i64])> = attr
                .sparse_tensors
                .iter()
                .map(|s| (s.values.data_type, s.dims.as_slice()))
                .collect();
            push_tensor_list(out, &items, true);
        }
        5 => {
            out.push_str("{\"graph\":");
            push_json_str(out, &scope(None));
            out.push('}');
        }
        10 => {
            out.push('[');
            for k in 0..attr.graphs.len() {
                if k > 0 {
                    out.push(',');
                }
                out.push_str("{\"graph\":");
                push_json_str(out, &scope(Some(k)));
                out.push('}');
            }
            out.push(']');
        }
        13 => {
            let mut s = String::new();
            push_type_summary(&mut s, &attr.tp);
            out.push_str("{\"type\":");
            push_json_str(out, &s);
            out.push('}');
        }
        14 => {
            out.push('[');
            for (k, tp) in attr.type_protos.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                let mut s = String::new();
                push_type_summary(&mut s, tp);
                out.push_str("{\"type\":");
                push_json_str(out, &s);
                out.push('}');
            }
            out.push(']');
        }
        t => {
            let _ = write!(out, "{{\"unknown_attribute_type\":{t}}}");
        }
    }
}

/// TENSORS / SPARSE_TENSORS: `[{"tensor": summary}, ...]`, bounded like every list.
fn push_tensor_list(out: &mut String, items: &[(i32, &[i64])], sparse: bool) {
    let render = |out: &mut String, items: &[(i32, &[i64])], compact: bool| {
        let sep = if compact { "," } else { ", " };
        out.push('[');
        for (k, (dt, dims)) in items.iter().enumerate() {
            if k > 0 {
                out.push_str(sep);
            }
            out.push_str(if compact {
                "{\"tensor\":"
            } else {
                "{\"tensor\": "
            });
            push_summary(out, *dt, dims, sparse, compact);
            out.push('}');
        }
        out.push(']');
    };
    if items.len() <= MAX_LIST_ITEMS {
        render(out, items, true);
    } else {
        let mut full = String::new();
        render(&mut full, items, false);
        let mut first = String::new();
        render(&mut first, &items[..16], true);
        push_truncated(out, items.len(), &full, &first);
    }
}
