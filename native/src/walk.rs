//! The ONNX walker: a decoded ModelProto → operator and edge columns, node for node and edge for
//! edge what younger_graph/extract/onnx_graph.py `_Walker` produces (same order of node indices,
//! same scopes, same two-pass registration, same outer-scope captures, function bodies expanded
//! per call keyed (domain, name, overload), same dangling count, same errors).

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use crate::attrs::{dtype_name, push_attribute_value, push_sparse_summary, push_tensor_summary};
use crate::columns::StrCol;
use crate::model::{Dim, Function, Graph, Model, Node, TypeVal, ValueInfo};
use crate::text::push_json_str;

pub const MAX_NESTING: u32 = 64;
/// The most nodes one model may expand to (function bodies and subgraphs included).
pub const MAX_NODES: u64 = 2_000_000;

pub const KIND_OPERATOR: u8 = 0;
pub const KIND_INPUT: u8 = 1;
pub const KIND_OUTPUT: u8 = 2;
pub const KIND_NAMES: [&str; 3] = ["operator", "input", "output"];

/// Why a model that parsed cannot become a graph (onnx_graph.py ExtractionError texts).
#[derive(Debug)]
pub enum WalkError {
    Message(String),
    /// The cycle error names a node with Python's `repr()`; the caller formats it.
    Cycle {
        remaining: usize,
        op_type: String,
        name: String,
    },
}

impl WalkError {
    fn msg(s: &str) -> Self {
        WalkError::Message(s.to_string())
    }
}

type WResult<T> = Result<T, WalkError>;

/// FxHash: the walker's maps are keyed by short names, where SipHash costs more than the lookup.
#[derive(Default, Clone, Copy)]
pub struct Fx(u64);

impl std::hash::Hasher for Fx {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            h = (h.rotate_left(5) ^ u64::from_le_bytes(c.try_into().unwrap()))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        self.0 = h;
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub type FxBuild = std::hash::BuildHasherDefault<Fx>;
pub type FxMap<K, V> = HashMap<K, V, FxBuild>;
pub type FxSet<K> = HashSet<K, FxBuild>;

/// What a tensor name resolves to: a producer (node idx, output slot) or an initializer (index of
/// its rendered summary JSON).
#[derive(Clone, Copy)]
enum Sym {
    Prod(u32, u32),
    Init(u32),
}

/// The graph being built, column by column (graph.py GraphBuilder).
pub struct Built {
    pub kind: Vec<u8>,
    pub op_type: StrCol,
    pub domain: StrCol,
    pub scope: StrCol,
    pub name: StrCol,
    pub attrs: StrCol,
    pub initializers: StrCol,
    /// BLAKE2b-8 of each node's hash label, with and without attributes (hashing.py `_label_ints`).
    pub label: Vec<u64>,
    pub label_noattr: Vec<u64>,

    pub e_src: Vec<i32>,
    pub e_src_slot: Vec<i32>,
    pub e_dst: Vec<i32>,
    pub e_dst_slot: Vec<i32>,
    pub e_scope: StrCol,
    pub e_tensor: StrCol,
    pub e_dtype: StrCol,
    pub e_shape: StrCol,

    pub s_parent: Vec<u32>,
    pub s_child: Vec<u32>,
    pub s_label: Vec<u64>,

    pub num_subgraphs: i64,
    pub num_functions: i64,
    pub num_initializers: i64,
    pub num_dangling: i64,
}

impl Built {
    fn new() -> Self {
        Built {
            kind: Vec::new(),
            op_type: StrCol::new(),
            domain: StrCol::new(),
            scope: StrCol::new(),
            name: StrCol::new(),
            attrs: StrCol::new(),
            initializers: StrCol::new(),
            label: Vec::new(),
            label_noattr: Vec::new(),
            e_src: Vec::new(),
            e_src_slot: Vec::new(),
            e_dst: Vec::new(),
            e_dst_slot: Vec::new(),
            e_scope: StrCol::new(),
            e_tensor: StrCol::new(),
            e_dtype: StrCol::new(),
            e_shape: StrCol::new(),
            s_parent: Vec::new(),
            s_child: Vec::new(),
            s_label: Vec::new(),
            num_subgraphs: 0,
            num_functions: 0,
            num_initializers: 0,
            num_dangling: 0,
        }
    }

    pub fn num_nodes(&self) -> usize {
        self.kind.len()
    }

    /// Whether a string column outgrew what Arrow's int32 offsets address (checked as the walk
    /// goes, so a model that expands to terabytes of text fails instead of exhausting memory).
    fn too_big(&self) -> bool {
        let limit = i32::MAX as usize;
        [
            &self.op_type,
            &self.domain,
            &self.scope,
            &self.name,
            &self.attrs,
            &self.initializers,
            &self.e_scope,
            &self.e_tensor,
            &self.e_shape,
        ]
        .iter()
        .any(|c| c.data.len() > limit)
    }
}

/// The error of a graph whose text does not fit Arrow string columns.
pub const TOO_BIG: &str = "has more string data than one Arrow string column holds (2 GiB)";

/// BLAKE2b with an 8-byte digest, little endian (hashing.py `_label_ints`).
#[inline]
pub fn label_hash(s: &[u8]) -> u64 {
    let h = blake2b_simd::Params::new().hash_length(8).hash(s);
    u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap())
}

/// onnx_graph.py `_shape_json`: (dtype, shape JSON) declared by a value_info.
fn push_edge_type(b: &mut Built, vi: Option<&ValueInfo>) {
    let tt = match vi.map(|v| &v.ty) {
        Some(Some(tp)) => match &tp.value {
            TypeVal::Tensor(tt) => Some(tt),
            _ => None,
        },
        _ => None,
    };
    let Some(tt) = tt else {
        b.e_dtype.push_null();
        b.e_shape.push_null();
        return;
    };
    if tt.elem_type != 0 {
        b.e_dtype.push(&dtype_name(tt.elem_type));
    } else {
        b.e_dtype.push_null();
    }
    match &tt.shape {
        None => b.e_shape.push_null(),
        Some(dims) => {
            let mut s = String::with_capacity(2 + dims.len() * 6);
            s.push('[');
            for (k, d) in dims.iter().enumerate() {
                if k > 0 {
                    s.push(',');
                }
                match d {
                    Dim::Value(v) => {
                        let _ = write!(s, "{v}");
                    }
                    Dim::Param(p) => push_json_str(&mut s, p),
                    Dim::None => s.push_str("null"),
                }
            }
            s.push(']');
            b.e_shape.push(&s);
        }
    }
}

type FnKey<'m> = (&'m str, &'m str, &'m str);

struct Walker<'m, 'a> {
    b: Built,
    functions: FxMap<FnKey<'m>, &'m Function<'a>>,
    symbols: FxMap<&'m str, Sym>,
    types: FxMap<&'m str, &'m ValueInfo<'a>>,
    init_json: Vec<String>,
    label_buf: String,
    attrs_buf: String,
    /// op_type → count over operator nodes (metrics), and the two domain flags.
    pub op_counts: FxMap<&'m str, u64>,
    pub control_flow: bool,
    pub custom_domain: bool,
}

type Undo<'m> = Vec<(&'m str, Option<Sym>)>;
type UndoTypes<'m, 'a> = Vec<(&'m str, Option<&'m ValueInfo<'a>>)>;

impl<'m, 'a> Walker<'m, 'a> {
    // -- nodes and edges (graph.py append_node / add_edge / connect) --------------------------
    #[allow(clippy::too_many_arguments)]
    fn append_node(
        &mut self,
        kind: u8,
        op_type: &str,
        domain: &str,
        scope: &str,
        name: &str,
        attrs: &str,
        hash_attrs: Option<&str>,
        inits: &str,
        slots: &str,
        position: Option<usize>,
    ) -> u32 {
        let idx = self.b.kind.len() as u32;
        let b = &mut self.b;
        b.kind.push(kind);
        b.op_type.push(op_type);
        b.domain.push(domain);
        b.scope.push(scope);
        b.name.push(name);
        b.attrs.push(attrs);
        b.initializers.push(inits);
        let kind_name = KIND_NAMES[kind as usize];
        let buf = &mut self.label_buf;
        buf.clear();
        buf.push_str(kind_name);
        buf.push('|');
        buf.push_str(domain);
        buf.push('|');
        buf.push_str(op_type);
        buf.push('|');
        if let Some(p) = position {
            let _ = write!(buf, "{p}");
        }
        buf.push('|');
        let stem = buf.len();
        buf.push_str(hash_attrs.unwrap_or(attrs));
        buf.push('|');
        buf.push_str(inits);
        b.label.push(label_hash(buf.as_bytes()));
        buf.truncate(stem);
        buf.push_str(slots);
        b.label_noattr.push(label_hash(buf.as_bytes()));
        idx
    }

    fn add_io(&mut self, kind: u8, scope: &str, name: &str, position: usize) -> u32 {
        let op_type = if kind == KIND_INPUT {
            "Input"
        } else {
            "Output"
        };
        self.append_node(
            kind,
            op_type,
            "",
            scope,
            name,
            "{}",
            None,
            "{}",
            "",
            Some(position),
        )
    }

    fn add_nesting(&mut self, parent: Option<(u32, u64)>, child: u32) {
        if let Some((p, label)) = parent {
            self.b.s_parent.push(p);
            self.b.s_child.push(child);
            self.b.s_label.push(label);
        }
    }

    fn connect(&mut self, sym: Option<Sym>, dst: u32, dst_slot: usize, scope: &str, tensor: &str) {
        match sym {
            Some(Sym::Prod(src, src_slot)) => {
                let b = &mut self.b;
                b.e_src.push(src as i32);
                b.e_src_slot.push(src_slot as i32);
                b.e_dst.push(dst as i32);
                b.e_dst_slot.push(dst_slot as i32);
                b.e_scope.push(scope);
                b.e_tensor.push(tensor);
                let vi = self.types.get(tensor).copied();
                push_edge_type(&mut self.b, vi);
            }
            None => self.b.num_dangling += 1,
            Some(Sym::Init(_)) => {}
        }
    }

    fn define(&mut self, undo: &mut Undo<'m>, name: &'m str, sym: Sym) {
        undo.push((name, self.symbols.insert(name, sym)));
    }

    // -- scopes ---------------------------------------------------------------------------------
    fn walk_graph(
        &mut self,
        graph: &'m Graph<'a>,
        scope: &str,
        depth: u32,
        parent: Option<(u32, u64)>,
    ) -> WResult<()> {
        if depth > MAX_NESTING {
            return Err(WalkError::Message(format!(
                "subgraphs are nested deeper than {MAX_NESTING} levels"
            )));
        }
        let mut undo_types: UndoTypes<'m, 'a> = Vec::new();
        let mut undo: Undo<'m> = Vec::new();
        for vi in graph
            .value_info
            .iter()
            .chain(&graph.input)
            .chain(&graph.output)
        {
            if !vi.name.is_empty() {
                let name: &'m str = &vi.name;
                undo_types.push((name, self.types.insert(name, vi)));
            }
        }
        let mut local: FxSet<&'m str> = FxSet::default();
        for init in &graph.initializer {
            let mut s = String::new();
            push_tensor_summary(&mut s, init);
            let id = self.init_json.len() as u32;
            self.init_json.push(s);
            self.define(&mut undo, &init.name, Sym::Init(id));
            local.insert(&init.name);
        }
        for sparse in &graph.sparse_initializer {
            let mut s = String::new();
            push_sparse_summary(&mut s, sparse);
            let id = self.init_json.len() as u32;
            self.init_json.push(s);
            self.define(&mut undo, &sparse.values.name, Sym::Init(id));
            local.insert(&sparse.values.name);
        }
        self.b.num_initializers +=
            (graph.initializer.len() + graph.sparse_initializer.len()) as i64;

        let mut position = 0;
        for vi in &graph.input {
            let name: &'m str = &vi.name;
            if !local.insert(name) {
                continue; // IR < 4 lists initializers as inputs too
            }
            let idx = self.add_io(KIND_INPUT, scope, name, position);
            position += 1;
            self.define(&mut undo, name, Sym::Prod(idx, 0));
            self.add_nesting(parent, idx);
        }
        self.walk_nodes(&graph.node, scope, depth, parent, &mut undo)?;
        for (position, vi) in graph.output.iter().enumerate() {
            let idx = self.add_io(KIND_OUTPUT, scope, &vi.name, position);
            self.add_nesting(parent, idx);
            let sym = self.symbols.get(&*vi.name).copied();
            self.connect(sym, idx, 0, scope, &vi.name);
        }
        for (name, old) in undo.into_iter().rev() {
            match old {
                Some(s) => self.symbols.insert(name, s),
                None => self.symbols.remove(name),
            };
        }
        for (name, old) in undo_types.into_iter().rev() {
            match old {
                Some(v) => self.types.insert(name, v),
                None => self.types.remove(name),
            };
        }
        Ok(())
    }

    fn walk_nodes(
        &mut self,
        nodes: &'m [Node<'a>],
        scope: &str,
        depth: u32,
        parent: Option<(u32, u64)>,
        undo: &mut Undo<'m>,
    ) -> WResult<()> {
        let prefix = if scope.is_empty() {
            String::new()
        } else {
            format!("{scope}/")
        };
        let mut added: Vec<(u32, bool)> = Vec::with_capacity(nodes.len());
        for node in nodes {
            if self.b.too_big() {
                return Err(WalkError::msg(TOO_BIG));
            }
            let (idx, nested) = self.add_operator(node, scope, &prefix)?;
            self.add_nesting(parent, idx);
            for (slot, out) in node.output.iter().enumerate() {
                if !out.is_empty() {
                    self.define(undo, out, Sym::Prod(idx, slot as u32));
                }
            }
            added.push((idx, nested));
        }
        for (node, &(idx, nested)) in nodes.iter().zip(&added) {
            for (slot, name) in node.input.iter().enumerate() {
                if !name.is_empty() {
                    let sym = self.symbols.get(&**name).copied();
                    self.connect(sym, idx, slot, scope, name);
                }
            }
            if nested {
                self.walk_subgraphs(node, idx, &prefix, depth)?;
            }
            if !self.functions.is_empty() {
                if let Some(&function) =
                    self.functions
                        .get(&(&*node.domain, &*node.op_type, &*node.overload))
                {
                    self.walk_function(function, node, idx, &prefix, depth)?;
                }
            }
        }
        Ok(())
    }

    fn walk_subgraphs(
        &mut self,
        node: &'m Node<'a>,
        idx: u32,
        prefix: &str,
        depth: u32,
    ) -> WResult<()> {
        for attr in &node.attribute {
            if attr.ty == 5 {
                self.b.num_subgraphs += 1;
                let scope = format!("{prefix}{idx}/{}", attr.name);
                self.walk_graph(
                    &attr.g,
                    &scope,
                    depth + 1,
                    Some((idx, label_hash(attr.name.as_bytes()))),
                )?;
            } else if attr.ty == 10 {
                for (k, g) in attr.graphs.iter().enumerate() {
                    self.b.num_subgraphs += 1;
                    let label = format!("{}/{k}", attr.name);
                    let scope = format!("{prefix}{idx}/{label}");
                    self.walk_graph(
                        g,
                        &scope,
                        depth + 1,
                        Some((idx, label_hash(label.as_bytes()))),
                    )?;
                }
            }
        }
        Ok(())
    }

    fn walk_function(
        &mut self,
        function: &'m Function<'a>,
        call: &'m Node<'a>,
        idx: u32,
        prefix: &str,
        depth: u32,
    ) -> WResult<()> {
        if depth > MAX_NESTING {
            return Err(WalkError::Message(format!(
                "function calls are nested deeper than {MAX_NESTING} levels"
            )));
        }
        self.b.num_functions += 1;
        let mut bound: FxMap<&'m str, Sym> = FxMap::default();
        for (formal, actual) in function.input.iter().zip(&call.input) {
            if !actual.is_empty() {
                if let Some(&sym) = self.symbols.get(&**actual) {
                    bound.insert(formal, sym);
                }
            }
        }
        let scope = format!("{prefix}{idx}/{}:{}", function.domain, function.name);
        let mut types: FxMap<&'m str, &'m ValueInfo<'a>> = FxMap::default();
        for vi in &function.value_info {
            if !vi.name.is_empty() {
                types.insert(&vi.name, vi);
            }
        }
        let caller_symbols = std::mem::replace(&mut self.symbols, bound);
        let caller_types = std::mem::replace(&mut self.types, types);
        let label = label_hash(format!("fn:{}", function.name).as_bytes());
        let mut undo = Vec::new();
        let result = self.walk_nodes(
            &function.node,
            &scope,
            depth + 1,
            Some((idx, label)),
            &mut undo,
        );
        self.symbols = caller_symbols;
        self.types = caller_types;
        result
    }

    // -- one operator ---------------------------------------------------------------------------
    fn add_operator(
        &mut self,
        node: &'m Node<'a>,
        scope: &str,
        prefix: &str,
    ) -> WResult<(u32, bool)> {
        if node.op_type.is_empty() {
            return Err(WalkError::msg(
                "has a node without an op_type, which ONNX does not allow",
            ));
        }
        // initializer_slots + graph.py initializer_columns: keys sorted as text ("10" before "2").
        let mut inits: Vec<(usize, u32)> = Vec::new();
        for (slot, name) in node.input.iter().enumerate() {
            if !name.is_empty() {
                if let Some(Sym::Init(id)) = self.symbols.get(&**name) {
                    inits.push((slot, *id));
                }
            }
        }
        let idx = self.b.kind.len() as u32;
        let mut inits_json = String::new();
        let mut slots = String::new();
        if inits.is_empty() {
            inits_json.push_str("{}");
        } else {
            for (k, (slot, _)) in inits.iter().enumerate() {
                if k > 0 {
                    slots.push(',');
                }
                let _ = write!(slots, "{slot}");
            }
            let mut keyed: Vec<(String, u32)> =
                inits.iter().map(|(s, id)| (s.to_string(), *id)).collect();
            keyed.sort();
            inits_json.push('{');
            for (k, (key, id)) in keyed.iter().enumerate() {
                if k > 0 {
                    inits_json.push(',');
                }
                let _ = write!(inits_json, "\"{key}\":{}", self.init_json[*id as usize]);
            }
            inits_json.push('}');
        }
        let (hash_json, nested) = if node.attribute.is_empty() {
            self.attrs_buf.clear();
            self.attrs_buf.push_str("{}");
            (None, false)
        } else {
            self.attributes_json(node, prefix, idx)
        };
        let attrs = std::mem::take(&mut self.attrs_buf);
        self.append_node(
            KIND_OPERATOR,
            &node.op_type,
            &node.domain,
            scope,
            &node.name,
            &attrs,
            hash_json.as_deref(),
            &inits_json,
            &slots,
            None,
        );
        self.attrs_buf = attrs;
        *self.op_counts.entry(&node.op_type).or_insert(0) += 1;
        let domain: &str = &node.domain;
        if matches!(&*node.op_type, "If" | "Loop" | "Scan")
            && (domain.is_empty() || domain == "ai.onnx")
        {
            self.control_flow = true;
        }
        if !(domain.is_empty() || domain == "ai.onnx" || domain == "ai.onnx.ml") {
            self.custom_domain = true;
        }
        Ok((idx, nested))
    }

    /// onnx_graph.py `_attributes_json` into `attrs_buf`: returns the hash variant (subgraph
    /// references spelled "subgraph") when there are subgraph attributes, and whether there are.
    fn attributes_json(
        &mut self,
        node: &'m Node<'a>,
        prefix: &str,
        idx: u32,
    ) -> (Option<String>, bool) {
        // Python builds a dict by attribute name (a repeated name keeps the last value), sorted by
        // dumps; a name is "subgraph" in the hash when any attribute of that name is GRAPH(S).
        let mut entries: Vec<(&str, String, bool)> = Vec::with_capacity(node.attribute.len());
        let mut any_graph = false;
        for attr in &node.attribute {
            let mut value = String::new();
            let name: &str = &attr.name;
            let scope = |k: Option<usize>| match k {
                None => format!("{prefix}{idx}/{name}"),
                Some(k) => format!("{prefix}{idx}/{name}/{k}"),
            };
            push_attribute_value(&mut value, attr, &scope);
            let is_graph = attr.ty == 5 || attr.ty == 10;
            any_graph |= is_graph;
            match entries.iter_mut().find(|e| e.0 == name) {
                Some(e) => {
                    e.1 = value;
                    e.2 |= is_graph;
                }
                None => entries.push((name, value, is_graph)),
            }
        }
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let render = |out: &mut String, hashed: bool| {
            out.push('{');
            for (k, (name, value, graph)) in entries.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                push_json_str(out, name);
                out.push(':');
                out.push_str(if hashed && *graph {
                    "\"subgraph\""
                } else {
                    value
                });
            }
            out.push('}');
        };
        self.attrs_buf.clear();
        let mut buf = std::mem::take(&mut self.attrs_buf);
        render(&mut buf, false);
        self.attrs_buf = buf;
        if any_graph {
            let mut hashed = String::new();
            render(&mut hashed, true);
            (Some(hashed), true)
        } else {
            (None, false)
        }
    }
}

// -- the node budget (function bombs) -----------------------------------------------------------
/// Counts of a graph's own nodes (inputs the walker adds, outputs, operators, subgraph bodies) and
/// the model-local functions its nodes call (with multiplicity), without following the calls.
fn direct_count<'m>(
    g: &'m Graph,
    functions: &FxMap<FnKey<'m>, usize>,
    calls: &mut Vec<usize>,
) -> u64 {
    let mut local: FxSet<&str> = FxSet::default();
    for init in &g.initializer {
        local.insert(&init.name);
    }
    for s in &g.sparse_initializer {
        local.insert(&s.values.name);
    }
    let mut n = 0u64;
    for vi in &g.input {
        if local.insert(&vi.name) {
            n += 1;
        }
    }
    n += g.output.len() as u64;
    n.saturating_add(nodes_count(&g.node, functions, calls))
}

fn nodes_count<'m>(
    nodes: &'m [Node],
    functions: &FxMap<FnKey<'m>, usize>,
    calls: &mut Vec<usize>,
) -> u64 {
    let mut n = 0u64;
    for node in nodes {
        n = n.saturating_add(1);
        for attr in &node.attribute {
            if attr.ty == 5 {
                n = n.saturating_add(direct_count(&attr.g, functions, calls));
            } else if attr.ty == 10 {
                for g in &attr.graphs {
                    n = n.saturating_add(direct_count(g, functions, calls));
                }
            }
        }
        if !functions.is_empty() {
            if let Some(&f) = functions.get(&(&*node.domain, &*node.op_type, &*node.overload)) {
                calls.push(f);
            }
        }
    }
    n
}

/// The model's node count once every function call and subgraph is expanded (what the walk would
/// build), or the recursion error when a function (transitively) calls itself.
fn expanded_count(model: &Model, graph: &Graph) -> WResult<u64> {
    let mut keys: FxMap<FnKey, usize> = FxMap::default();
    for (i, f) in model.functions.iter().enumerate() {
        keys.insert((&f.domain, &f.name, &f.overload), i);
    }
    let mut main_calls = Vec::new();
    let mut total = direct_count(graph, &keys, &mut main_calls);
    if main_calls.is_empty() {
        return Ok(total);
    }
    // Per function: None = not seen, Some(None) = on the current path, Some(Some(n)) = done.
    let mut state: Vec<Option<Option<u64>>> = vec![None; model.functions.len()];
    let mut own: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); model.functions.len()];
    // Iterative post-order over the call graph (chains of functions can be long).
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for &root in &main_calls {
        if state[root].is_some() {
            if state[root] == Some(None) {
                return Err(recursion_error());
            }
            continue;
        }
        stack.push((root, 0));
        while let Some(&mut (f, ref mut next)) = stack.last_mut() {
            if *next == 0 && state[f].is_none() {
                state[f] = Some(None);
                let mut calls = Vec::new();
                let n = nodes_count(&model.functions[f].node, &keys, &mut calls);
                own[f] = (n, calls);
            }
            if *next < own[f].1.len() {
                let callee = own[f].1[*next];
                *next += 1;
                match state[callee] {
                    None => stack.push((callee, 0)),
                    Some(None) => return Err(recursion_error()),
                    Some(Some(_)) => {}
                }
            } else {
                let mut n = own[f].0;
                for &callee in &own[f].1 {
                    n = n.saturating_add(state[callee].flatten().unwrap_or(0));
                }
                state[f] = Some(Some(n));
                stack.pop();
            }
        }
    }
    for &f in &main_calls {
        total = total.saturating_add(state[f].flatten().unwrap_or(0));
    }
    Ok(total)
}

fn recursion_error() -> WalkError {
    WalkError::Message(format!(
        "function calls are nested deeper than {MAX_NESTING} levels"
    ))
}

/// The walk's result: the built columns plus what the metrics need.
pub struct Walked {
    pub b: Built,
    pub op_counts: Vec<u64>,
    pub num_op_types: usize,
    pub control_flow: bool,
    pub custom_domain: bool,
}

/// onnx_graph.py `model_to_builder`.
pub fn model_to_built(model: &Model) -> WResult<Walked> {
    let Some(graph) = &model.graph else {
        return Err(WalkError::msg(
            "the file parses as protobuf but holds no ONNX graph",
        ));
    };
    if graph.node.is_empty() && graph.input.is_empty() && graph.output.is_empty() {
        return Err(WalkError::msg(
            "the ONNX graph is empty (no nodes, inputs or outputs)",
        ));
    }
    if expanded_count(model, graph)? > MAX_NODES {
        return Err(WalkError::msg(
            "has more than 2,000,000 nodes once function bodies and subgraphs are expanded (the limit per model)",
        ));
    }
    let mut functions: FxMap<FnKey, &Function> = FxMap::default();
    for f in &model.functions {
        functions.insert((&f.domain, &f.name, &f.overload), f);
    }
    let mut w = Walker {
        b: Built::new(),
        functions,
        symbols: FxMap::default(),
        types: FxMap::default(),
        init_json: Vec::new(),
        label_buf: String::new(),
        attrs_buf: String::new(),
        op_counts: FxMap::default(),
        control_flow: false,
        custom_domain: false,
    };
    w.walk_graph(graph, "", 0, None)?;
    reject_cycles(&w.b)?;
    Ok(Walked {
        num_op_types: w.op_counts.len(),
        op_counts: w.op_counts.values().copied().collect(),
        control_flow: w.control_flow,
        custom_domain: w.custom_domain,
        b: w.b,
    })
}

/// onnx_graph.py `_reject_cycles`.
fn reject_cycles(b: &Built) -> WResult<()> {
    let n = b.num_nodes();
    let mut indegree = vec![0u32; n];
    let mut out_start = vec![0u32; n + 1];
    for &s in &b.e_src {
        out_start[s as usize + 1] += 1;
    }
    for i in 0..n {
        out_start[i + 1] += out_start[i];
    }
    let mut fill = out_start.clone();
    let mut targets = vec![0u32; b.e_src.len()];
    for (&s, &d) in b.e_src.iter().zip(&b.e_dst) {
        targets[fill[s as usize] as usize] = d as u32;
        fill[s as usize] += 1;
        indegree[d as usize] += 1;
    }
    let mut ready: Vec<u32> = (0..n as u32)
        .filter(|&i| indegree[i as usize] == 0)
        .collect();
    let mut done = 0usize;
    while let Some(i) = ready.pop() {
        done += 1;
        for &j in &targets[out_start[i as usize] as usize..out_start[i as usize + 1] as usize] {
            indegree[j as usize] -= 1;
            if indegree[j as usize] == 0 {
                ready.push(j);
            }
        }
    }
    if done < n {
        let stuck = (0..n).find(|&i| indegree[i] != 0).unwrap_or(0);
        return Err(WalkError::Cycle {
            remaining: n - done,
            op_type: b.op_type.get(stuck).to_string(),
            name: b.name.get(stuck).to_string(),
        });
    }
    Ok(())
}
