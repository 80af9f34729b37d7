//! onnx.proto, decoded straight from the wire: only what extraction reads is kept (borrowed from
//! the file's bytes), everything else is checked as protobuf would check it and dropped. Tensor
//! payloads (raw_data, float_data, ...) are skipped, never copied.
//!
//! Decoding merges like protobuf: a singular message field seen twice is merged (repeated fields
//! appended, scalars overwritten), a oneof switching member starts afresh, a closed enum value
//! outside the enum is ignored (protobuf keeps it as an unknown field).

use std::borrow::Cow;

use crate::text::decode;
use crate::wire::{
    check_field, check_message, each_fixed32, each_varint, FieldDef, Fields, Kind, Schema, Val, R,
};

pub type Str<'a> = Cow<'a, str>;

// -- schemas (field number → kind) of every message reachable from ModelProto -------------------
macro_rules! f {
    ($n:expr, $k:expr) => {
        FieldDef {
            number: $n,
            kind: $k,
            repeated: false,
        }
    };
    ($n:expr, $k:expr, rep) => {
        FieldDef {
            number: $n,
            kind: $k,
            repeated: true,
        }
    };
}
use Kind::{Bytes as B, Fixed32 as F32, Fixed64 as F64, Msg as M, Varint as V};

pub static MODEL: Schema = Schema {
    name: "onnx.ModelProto",
    fields: &[
        f!(1, V),
        f!(2, B),
        f!(3, B),
        f!(4, B),
        f!(5, V),
        f!(6, B),
        f!(7, M(&GRAPH)),
        f!(8, M(&OPSET), rep),
        f!(14, M(&STRING_ENTRY), rep),
        f!(20, M(&TRAINING_INFO), rep),
        f!(25, M(&FUNCTION), rep),
        f!(26, M(&DEVICE_CONFIGURATION), rep),
    ],
};
pub static OPSET: Schema = Schema {
    name: "onnx.OperatorSetIdProto",
    fields: &[f!(1, B), f!(2, V)],
};
pub static GRAPH: Schema = Schema {
    name: "onnx.GraphProto",
    fields: &[
        f!(1, M(&NODE), rep),
        f!(2, B),
        f!(5, M(&TENSOR), rep),
        f!(10, B),
        f!(11, M(&VALUE_INFO), rep),
        f!(12, M(&VALUE_INFO), rep),
        f!(13, M(&VALUE_INFO), rep),
        f!(14, M(&TENSOR_ANNOTATION), rep),
        f!(15, M(&SPARSE_TENSOR), rep),
        f!(16, M(&STRING_ENTRY), rep),
    ],
};
pub static NODE: Schema = Schema {
    name: "onnx.NodeProto",
    fields: &[
        f!(1, B, rep),
        f!(2, B, rep),
        f!(3, B),
        f!(4, B),
        f!(5, M(&ATTRIBUTE), rep),
        f!(6, B),
        f!(7, B),
        f!(8, B),
        f!(9, M(&STRING_ENTRY), rep),
        f!(10, M(&NODE_DEVICE_CONFIGURATION), rep),
    ],
};
pub static ATTRIBUTE: Schema = Schema {
    name: "onnx.AttributeProto",
    fields: &[
        f!(1, B),
        f!(2, F32),
        f!(3, V),
        f!(4, B),
        f!(5, M(&TENSOR)),
        f!(6, M(&GRAPH)),
        f!(7, F32, rep),
        f!(8, V, rep),
        f!(9, B, rep),
        f!(10, M(&TENSOR), rep),
        f!(11, M(&GRAPH), rep),
        f!(13, B),
        f!(14, M(&TYPE)),
        f!(15, M(&TYPE), rep),
        f!(20, V),
        f!(21, B),
        f!(22, M(&SPARSE_TENSOR)),
        f!(23, M(&SPARSE_TENSOR), rep),
    ],
};
pub static TENSOR: Schema = Schema {
    name: "onnx.TensorProto",
    fields: &[
        f!(1, V, rep),
        f!(2, V),
        f!(3, M(&SEGMENT)),
        f!(4, F32, rep),
        f!(5, V, rep),
        f!(6, B, rep),
        f!(7, V, rep),
        f!(8, B),
        f!(9, B),
        f!(10, F64, rep),
        f!(11, V, rep),
        f!(12, B),
        f!(13, M(&STRING_ENTRY), rep),
        f!(14, V),
        f!(16, M(&STRING_ENTRY), rep),
    ],
};
pub static SEGMENT: Schema = Schema {
    name: "onnx.TensorProto.Segment",
    fields: &[f!(1, V), f!(2, V)],
};
pub static STRING_ENTRY: Schema = Schema {
    name: "onnx.StringStringEntryProto",
    fields: &[f!(1, B), f!(2, B)],
};
pub static SPARSE_TENSOR: Schema = Schema {
    name: "onnx.SparseTensorProto",
    fields: &[f!(1, M(&TENSOR)), f!(2, M(&TENSOR)), f!(3, V, rep)],
};
pub static TYPE: Schema = Schema {
    name: "onnx.TypeProto",
    fields: &[
        f!(1, M(&TYPE_TENSOR)),
        f!(4, M(&TYPE_SEQUENCE)),
        f!(5, M(&TYPE_MAP)),
        f!(6, B),
        f!(7, M(&TYPE_OPAQUE)),
        f!(8, M(&TYPE_SPARSE_TENSOR)),
        f!(9, M(&TYPE_OPTIONAL)),
    ],
};
pub static TYPE_TENSOR: Schema = Schema {
    name: "onnx.TypeProto.Tensor",
    fields: &[f!(1, V), f!(2, M(&SHAPE))],
};
pub static SHAPE: Schema = Schema {
    name: "onnx.TensorShapeProto",
    fields: &[f!(1, M(&DIMENSION), rep)],
};
pub static DIMENSION: Schema = Schema {
    name: "onnx.TensorShapeProto.Dimension",
    fields: &[f!(1, V), f!(2, B), f!(3, B)],
};
pub static TYPE_SEQUENCE: Schema = Schema {
    name: "onnx.TypeProto.Sequence",
    fields: &[f!(1, M(&TYPE))],
};
pub static TYPE_MAP: Schema = Schema {
    name: "onnx.TypeProto.Map",
    fields: &[f!(1, V), f!(2, M(&TYPE))],
};
pub static TYPE_OPTIONAL: Schema = Schema {
    name: "onnx.TypeProto.Optional",
    fields: &[f!(1, M(&TYPE))],
};
pub static TYPE_SPARSE_TENSOR: Schema = Schema {
    name: "onnx.TypeProto.SparseTensor",
    fields: &[f!(1, V), f!(2, M(&SHAPE))],
};
pub static TYPE_OPAQUE: Schema = Schema {
    name: "onnx.TypeProto.Opaque",
    fields: &[f!(1, B), f!(2, B)],
};
pub static NODE_DEVICE_CONFIGURATION: Schema = Schema {
    name: "onnx.NodeDeviceConfigurationProto",
    fields: &[f!(1, B), f!(2, M(&SHARDING_SPEC), rep), f!(3, V)],
};
pub static SHARDING_SPEC: Schema = Schema {
    name: "onnx.ShardingSpecProto",
    fields: &[
        f!(1, B),
        f!(2, V, rep),
        f!(3, M(&INT_INT_LIST_ENTRY), rep),
        f!(4, M(&SHARDED_DIM), rep),
    ],
};
pub static INT_INT_LIST_ENTRY: Schema = Schema {
    name: "onnx.IntIntListEntryProto",
    fields: &[f!(1, V), f!(2, V, rep)],
};
pub static SHARDED_DIM: Schema = Schema {
    name: "onnx.ShardedDimProto",
    fields: &[f!(1, V), f!(2, M(&SIMPLE_SHARDED_DIM), rep)],
};
pub static SIMPLE_SHARDED_DIM: Schema = Schema {
    name: "onnx.SimpleShardedDimProto",
    fields: &[f!(1, V), f!(2, B), f!(3, V)],
};
pub static VALUE_INFO: Schema = Schema {
    name: "onnx.ValueInfoProto",
    fields: &[
        f!(1, B),
        f!(2, M(&TYPE)),
        f!(3, B),
        f!(4, M(&STRING_ENTRY), rep),
    ],
};
pub static TENSOR_ANNOTATION: Schema = Schema {
    name: "onnx.TensorAnnotation",
    fields: &[f!(1, B), f!(2, M(&STRING_ENTRY), rep)],
};
pub static TRAINING_INFO: Schema = Schema {
    name: "onnx.TrainingInfoProto",
    fields: &[
        f!(1, M(&GRAPH)),
        f!(2, M(&GRAPH)),
        f!(3, M(&STRING_ENTRY), rep),
        f!(4, M(&STRING_ENTRY), rep),
    ],
};
pub static FUNCTION: Schema = Schema {
    name: "onnx.FunctionProto",
    fields: &[
        f!(1, B),
        f!(4, B, rep),
        f!(5, B, rep),
        f!(6, B, rep),
        f!(7, M(&NODE), rep),
        f!(8, B),
        f!(9, M(&OPSET), rep),
        f!(10, B),
        f!(11, M(&ATTRIBUTE), rep),
        f!(12, M(&VALUE_INFO), rep),
        f!(13, B),
        f!(14, M(&STRING_ENTRY), rep),
    ],
};
pub static DEVICE_CONFIGURATION: Schema = Schema {
    name: "onnx.DeviceConfigurationProto",
    fields: &[f!(1, B), f!(2, V), f!(3, B, rep)],
};

/// AttributeProto.AttributeType (a closed proto2 enum: values outside 0..=14 are not stored).
pub const ATTRIBUTE_TYPE_MAX: u32 = 14;

// -- the decoded model -----------------------------------------------------------------------
#[derive(Default)]
pub struct Model<'a> {
    pub ir_version: i64,
    pub opset_import: Vec<(Str<'a>, i64)>,
    pub producer_name: Str<'a>,
    pub producer_version: Str<'a>,
    pub graph: Option<Graph<'a>>,
    pub functions: Vec<Function<'a>>,
}

#[derive(Default)]
pub struct Graph<'a> {
    pub node: Vec<Node<'a>>,
    pub initializer: Vec<Tensor<'a>>,
    pub sparse_initializer: Vec<Sparse<'a>>,
    pub input: Vec<ValueInfo<'a>>,
    pub output: Vec<ValueInfo<'a>>,
    pub value_info: Vec<ValueInfo<'a>>,
}

#[derive(Default)]
pub struct Node<'a> {
    pub input: Vec<Str<'a>>,
    pub output: Vec<Str<'a>>,
    pub name: Str<'a>,
    pub op_type: Str<'a>,
    pub domain: Str<'a>,
    pub overload: Str<'a>,
    pub attribute: Vec<Attribute<'a>>,
}

#[derive(Default)]
pub struct Attribute<'a> {
    pub name: Str<'a>,
    pub ref_attr_name: Str<'a>,
    pub ty: u32,
    pub f: f32,
    pub i: i64,
    pub s: &'a [u8],
    pub t: Tensor<'a>,
    pub g: Graph<'a>,
    pub floats: Vec<f32>,
    pub ints: Vec<i64>,
    pub strings: Vec<&'a [u8]>,
    pub tensors: Vec<Tensor<'a>>,
    pub graphs: Vec<Graph<'a>>,
    pub tp: TypeP<'a>,
    pub type_protos: Vec<TypeP<'a>>,
    pub sparse_tensor: Sparse<'a>,
    pub sparse_tensors: Vec<Sparse<'a>>,
}

#[derive(Default)]
pub struct Tensor<'a> {
    pub dims: Vec<i64>,
    pub data_type: i32,
    pub name: Str<'a>,
}

#[derive(Default)]
pub struct Sparse<'a> {
    pub values: Tensor<'a>,
    pub dims: Vec<i64>,
}

#[derive(Default)]
pub struct ValueInfo<'a> {
    pub name: Str<'a>,
    pub ty: Option<TypeP<'a>>,
}

#[derive(Default)]
pub struct TypeP<'a> {
    pub value: TypeVal<'a>,
}

#[derive(Default)]
pub enum TypeVal<'a> {
    #[default]
    None,
    Tensor(TensorType<'a>),
    Sequence(Box<TypeP<'a>>),
    Map,
    Opaque,
    SparseTensor,
    Optional(Box<TypeP<'a>>),
}

#[derive(Default)]
pub struct TensorType<'a> {
    pub elem_type: i32,
    pub shape: Option<Vec<Dim<'a>>>,
}

#[derive(Default)]
pub enum Dim<'a> {
    #[default]
    None,
    Value(i64),
    Param(Str<'a>),
}

#[derive(Default)]
pub struct Function<'a> {
    pub name: Str<'a>,
    pub domain: Str<'a>,
    pub overload: Str<'a>,
    pub input: Vec<Str<'a>>,
    pub node: Vec<Node<'a>>,
    pub value_info: Vec<ValueInfo<'a>>,
}

// -- decoding ----------------------------------------------------------------------------------
#[inline]
fn push_varints_i64(out: &mut Vec<i64>, val: Val) -> R<bool> {
    each_varint(val, |v| out.push(v as i64))
}

/// Protobuf's parse of a whole ModelProto.
pub fn decode_model(buf: &[u8], depth: u32) -> R<Model<'_>> {
    let mut m = Model::default();
    let mut f = Fields::new(buf, depth);
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Val::Varint(x)) => m.ir_version = x as i64,
            (2, Val::Len(b)) => m.producer_name = decode(b),
            (3, Val::Len(b)) => m.producer_version = decode(b),
            (7, Val::Len(b)) => {
                merge_graph(m.graph.get_or_insert_with(Graph::default), b, f.enter()?)?
            }
            (8, Val::Len(b)) => m.opset_import.push(decode_opset(b, f.enter()?)?),
            (25, Val::Len(b)) => {
                let mut func = Function::default();
                merge_function(&mut func, b, f.enter()?)?;
                m.functions.push(func);
            }
            _ => check_field(&MODEL, &f, n, v)?,
        }
    }
    Ok(m)
}

fn decode_opset(buf: &[u8], depth: u32) -> R<(Str<'_>, i64)> {
    let (mut domain, mut version) = (Str::Borrowed(""), 0i64);
    let mut f = Fields::new(buf, depth);
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Val::Len(b)) => domain = decode(b),
            (2, Val::Varint(x)) => version = x as i64,
            _ => check_field(&OPSET, &f, n, v)?,
        }
    }
    Ok((domain, version))
}

pub fn merge_graph<'a>(g: &mut Graph<'a>, buf: &'a [u8], depth: u32) -> R<()> {
    let mut f = Fields::new(buf, depth);
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Val::Len(b)) => {
                let mut node = Node::default();
                merge_node(&mut node, b, f.enter()?)?;
                g.node.push(node);
            }
            (5, Val::Len(b)) => {
                let mut t = Tensor::default();
                merge_tensor(&mut t, b, f.enter()?)?;
                g.initializer.push(t);
            }
            (11..=13, Val::Len(b)) => {
                let mut vi = ValueInfo::default();
                merge_value_info(&mut vi, b, f.enter()?)?;
                match n {
                    11 => g.input.push(vi),
                    12 => g.output.push(vi),
                    _ => g.value_info.push(vi),
                }
            }
            (15, Val::Len(b)) => {
                let mut s = Sparse::default();
                merge_sparse(&mut s, b, f.enter()?)?;
                g.sparse_initializer.push(s);
            }
            _ => check_field(&GRAPH, &f, n, v)?,
        }
    }
    Ok(())
}

fn merge_node<'a>(node: &mut Node<'a>, buf: &'a [u8], depth: u32) -> R<()> {
    let mut f = Fields::new(buf, depth);
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Val::Len(b)) => node.input.push(decode(b)),
            (2, Val::Len(b)) => node.output.push(decode(b)),
            (3, Val::Len(b)) => node.name = decode(b),
            (4, Val::Len(b)) => node.op_type = decode(b),
            (5, Val::Len(b)) => {
                let mut a = Attribute::default();
                merge_attribute(&mut a, b, f.enter()?)?;
                node.attribute.push(a);
            }
            (7, Val::Len(b)) => node.domain = decode(b),
            (8, Val::Len(b)) => node.overload = decode(b),
            _ => check_field(&NODE, &f, n, v)?,
        }
    }
    Ok(())
}

fn merge_attribute<'a>(a: &mut Attribute<'a>, buf: &'a [u8], depth: u32) -> R<()> {
    let mut f = Fields::new(buf, depth);
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Val::Len(b)) => a.name = decode(b),
            (2, Val::I32(x)) => a.f = f32::from_bits(x),
            (3, Val::Varint(x)) => a.i = x as i64,
            (4, Val::Len(b)) => a.s = b,
            (5, Val::Len(b)) => merge_tensor(&mut a.t, b, f.enter()?)?,
            (6, Val::Len(b)) => merge_graph(&mut a.g, b, f.enter()?)?,
            (7, _) => {
                let floats = &mut a.floats;
                each_fixed32(v, |x| floats.push(f32::from_bits(x)))?;
            }
            (8, _) => {
                push_varints_i64(&mut a.ints, v)?;
            }
            (9, Val::Len(b)) => a.strings.push(b),
            (10, Val::Len(b)) => {
                let mut t = Tensor::default();
                merge_tensor(&mut t, b, f.enter()?)?;
                a.tensors.push(t);
            }
            (11, Val::Len(b)) => {
                let mut g = Graph::default();
                merge_graph(&mut g, b, f.enter()?)?;
                a.graphs.push(g);
            }
            (14, Val::Len(b)) => merge_type(&mut a.tp, b, f.enter()?)?,
            (15, Val::Len(b)) => {
                let mut t = TypeP::default();
                merge_type(&mut t, b, f.enter()?)?;
                a.type_protos.push(t);
            }
            (20, Val::Varint(x)) => {
                // int32 enum: the low 32 bits, kept only when they name an AttributeType
                if (x as u32) <= ATTRIBUTE_TYPE_MAX {
                    a.ty = x as u32;
                }
            }
            (21, Val::Len(b)) => a.ref_attr_name = decode(b),
            (22, Val::Len(b)) => merge_sparse(&mut a.sparse_tensor, b, f.enter()?)?,
            (23, Val::Len(b)) => {
                let mut s = Sparse::default();
                merge_sparse(&mut s, b, f.enter()?)?;
                a.sparse_tensors.push(s);
            }
            _ => check_field(&ATTRIBUTE, &f, n, v)?,
        }
    }
    Ok(())
}

pub fn merge_tensor<'a>(t: &mut Tensor<'a>, buf: &'a [u8], depth: u32) -> R<()> {
    let mut f = Fields::new(buf, depth);
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, _) => {
                push_varints_i64(&mut t.dims, v)?;
            }
            (2, Val::Varint(x)) => t.data_type = x as u32 as i32,
            (8, Val::Len(b)) => t.name = decode(b),
            // payloads: bytes whatever their content, never looked at
            (9 | 6, Val::Len(_)) => {}
            _ => check_field(&TENSOR, &f, n, v)?,
        }
    }
    Ok(())
}

fn merge_sparse<'a>(s: &mut Sparse<'a>, buf: &'a [u8], depth: u32) -> R<()> {
    let mut f = Fields::new(buf, depth);
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Val::Len(b)) => merge_tensor(&mut s.values, b, f.enter()?)?,
            (3, _) => {
                push_varints_i64(&mut s.dims, v)?;
            }
            _ => check_field(&SPARSE_TENSOR, &f, n, v)?,
        }
    }
    Ok(())
}

fn merge_value_info<'a>(vi: &mut ValueInfo<'a>, buf: &'a [u8], depth: u32) -> R<()> {
    let mut f = Fields::new(buf, depth);
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Val::Len(b)) => vi.name = decode(b),
            (2, Val::Len(b)) => {
                merge_type(vi.ty.get_or_insert_with(TypeP::default), b, f.enter()?)?
            }
            _ => check_field(&VALUE_INFO, &f, n, v)?,
        }
    }
    Ok(())
}

fn merge_type<'a>(t: &mut TypeP<'a>, buf: &'a [u8], depth: u32) -> R<()> {
    let mut f = Fields::new(buf, depth);
    while let Some((n, v)) = f.next()? {
        let Val::Len(b) = v else {
            check_field(&TYPE, &f, n, v)?;
            continue;
        };
        let inner = f.enter();
        match n {
            1 => {
                if !matches!(t.value, TypeVal::Tensor(_)) {
                    t.value = TypeVal::Tensor(TensorType::default());
                }
                let TypeVal::Tensor(tt) = &mut t.value else {
                    unreachable!()
                };
                merge_tensor_type(tt, b, inner?)?;
            }
            4 | 9 => {
                let same = matches!(
                    (&t.value, n),
                    (TypeVal::Sequence(_), 4) | (TypeVal::Optional(_), 9)
                );
                if !same {
                    t.value = if n == 4 {
                        TypeVal::Sequence(Box::default())
                    } else {
                        TypeVal::Optional(Box::default())
                    };
                }
                let (TypeVal::Sequence(elem) | TypeVal::Optional(elem)) = &mut t.value else {
                    unreachable!()
                };
                merge_elem_type(
                    elem,
                    b,
                    inner?,
                    if n == 4 {
                        &TYPE_SEQUENCE
                    } else {
                        &TYPE_OPTIONAL
                    },
                )?;
            }
            5 => {
                check_message(b, &TYPE_MAP, inner?)?;
                t.value = TypeVal::Map;
            }
            7 => {
                check_message(b, &TYPE_OPAQUE, inner?)?;
                t.value = TypeVal::Opaque;
            }
            8 => {
                check_message(b, &TYPE_SPARSE_TENSOR, inner?)?;
                t.value = TypeVal::SparseTensor;
            }
            _ => check_field(&TYPE, &f, n, v)?,
        }
    }
    Ok(())
}

/// TypeProto.Sequence / TypeProto.Optional: one field, elem_type (a TypeProto).
fn merge_elem_type<'a>(elem: &mut TypeP<'a>, buf: &'a [u8], depth: u32, schema: &Schema) -> R<()> {
    let mut f = Fields::new(buf, depth);
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Val::Len(b)) => merge_type(elem, b, f.enter()?)?,
            _ => check_field(schema, &f, n, v)?,
        }
    }
    Ok(())
}

fn merge_tensor_type<'a>(tt: &mut TensorType<'a>, buf: &'a [u8], depth: u32) -> R<()> {
    let mut f = Fields::new(buf, depth);
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Val::Varint(x)) => tt.elem_type = x as u32 as i32,
            (2, Val::Len(b)) => merge_shape(tt.shape.get_or_insert_with(Vec::new), b, f.enter()?)?,
            _ => check_field(&TYPE_TENSOR, &f, n, v)?,
        }
    }
    Ok(())
}

fn merge_shape<'a>(dims: &mut Vec<Dim<'a>>, buf: &'a [u8], depth: u32) -> R<()> {
    let mut f = Fields::new(buf, depth);
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Val::Len(b)) => dims.push(decode_dim(b, f.enter()?)?),
            _ => check_field(&SHAPE, &f, n, v)?,
        }
    }
    Ok(())
}

fn decode_dim(buf: &[u8], depth: u32) -> R<Dim<'_>> {
    let mut d = Dim::None;
    let mut f = Fields::new(buf, depth);
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Val::Varint(x)) => d = Dim::Value(x as i64),
            (2, Val::Len(b)) => d = Dim::Param(decode(b)),
            _ => check_field(&DIMENSION, &f, n, v)?,
        }
    }
    Ok(d)
}

fn merge_function<'a>(func: &mut Function<'a>, buf: &'a [u8], depth: u32) -> R<()> {
    let mut f = Fields::new(buf, depth);
    while let Some((n, v)) = f.next()? {
        match (n, v) {
            (1, Val::Len(b)) => func.name = decode(b),
            (4, Val::Len(b)) => func.input.push(decode(b)),
            (7, Val::Len(b)) => {
                let mut node = Node::default();
                merge_node(&mut node, b, f.enter()?)?;
                func.node.push(node);
            }
            (10, Val::Len(b)) => func.domain = decode(b),
            (12, Val::Len(b)) => {
                let mut vi = ValueInfo::default();
                merge_value_info(&mut vi, b, f.enter()?)?;
                func.value_info.push(vi);
            }
            (13, Val::Len(b)) => func.overload = decode(b),
            _ => check_field(&FUNCTION, &f, n, v)?,
        }
    }
    Ok(())
}
