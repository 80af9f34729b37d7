//! Protobuf wire format, read the way upb (the Python protobuf runtime) reads it.
//!
//! Every rule that decides whether `ModelProto.ParseFromString` accepts a file is mirrored here, so
//! the native extractor accepts and refuses exactly the same bytes:
//! - varints are at most 10 bytes (bits past 64 are dropped); tags at most 5 bytes and <= u32::MAX;
//! - a length must be < i32::MAX and fit in the enclosing message;
//! - field number 0, wire types 6 and 7 and a stray END_GROUP are malformed;
//! - groups are only ever unknown fields in onnx.proto: they are skipped, but must be well formed
//!   and closed by the matching END_GROUP, and count towards the nesting depth; upb skips them
//!   with its wire reader, so a group past the limit is malformed (not too deep) and field number
//!   0 is accepted inside a group (not outside);
//! - a known field with an unexpected wire type is an unknown field (accepted and ignored);
//! - repeated numeric fields accept both packed and unpacked encodings; packed fixed-width data
//!   must be a whole number of elements, packed varints must all be complete;
//! - sub-messages (and groups) nest at most 100 deep (`Exceeded upb_DecodeOptions_MaxDepth`);
//! - the first error in wire order wins (upb stops there).

/// Why protobuf refuses a buffer (upb's status; the text is what Python's DecodeError carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    Malformed,
    MaxDepth,
}

impl DecodeError {
    pub fn upb_text(self) -> &'static str {
        match self {
            DecodeError::Malformed => "Wire format was corrupt",
            DecodeError::MaxDepth => "Exceeded upb_DecodeOptions_MaxDepth",
        }
    }
}

pub type R<T> = Result<T, DecodeError>;

/// upb's default nesting limit (kUpb_WireFormat_DefaultDepthLimit).
pub const MAX_DEPTH: u32 = 100;

/// One field's value as it sits on the wire.
#[derive(Clone, Copy)]
pub enum Val<'a> {
    Varint(u64),
    I64(u64),
    I32(u32),
    Len(&'a [u8]),
    /// An unknown group, already checked and skipped.
    Group,
}

#[inline]
fn malformed<T>() -> R<T> {
    Err(DecodeError::Malformed)
}

/// Reads a varint at `*pos`; at most 10 bytes, the last without a continuation bit.
#[inline(always)]
pub fn read_varint(buf: &[u8], pos: &mut usize) -> R<u64> {
    let p = *pos;
    if p < buf.len() {
        let b = buf[p];
        if b < 0x80 {
            *pos = p + 1;
            return Ok(b as u64);
        }
    }
    read_varint_slow(buf, pos)
}

#[inline(never)]
fn read_varint_slow(buf: &[u8], pos: &mut usize) -> R<u64> {
    let mut value: u64 = 0;
    let mut p = *pos;
    for i in 0..10 {
        if p >= buf.len() {
            return malformed();
        }
        let b = buf[p];
        p += 1;
        value |= ((b & 0x7f) as u64).wrapping_shl(7 * i as u32); // bits past 64 are dropped
        if b < 0x80 {
            *pos = p;
            return Ok(value);
        }
    }
    malformed()
}

/// A message's fields, in order. `depth` is the nesting budget left at this message: entering a
/// sub-message needs one more level (`enter`).
pub struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    depth: u32,
}

impl<'a> Fields<'a> {
    #[inline]
    pub fn new(buf: &'a [u8], depth: u32) -> Self {
        Fields { buf, pos: 0, depth }
    }

    /// The nesting budget of a sub-message of this one (MaxDepth when none is left).
    #[inline]
    pub fn enter(&self) -> R<u32> {
        if self.depth == 0 {
            Err(DecodeError::MaxDepth)
        } else {
            Ok(self.depth - 1)
        }
    }

    #[inline]
    fn tag(&mut self) -> R<u32> {
        let start = self.pos;
        let v = read_varint(self.buf, &mut self.pos)?;
        if self.pos - start > 5 || v > u32::MAX as u64 {
            return malformed();
        }
        Ok(v as u32)
    }

    /// The next field (number, value), None at the end of the message.
    #[inline]
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> R<Option<(u32, Val<'a>)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let tag = self.tag()?;
        let number = tag >> 3;
        let val = match tag & 7 {
            0 => Val::Varint(read_varint(self.buf, &mut self.pos)?),
            1 => {
                let p = self.pos;
                if self.buf.len() - p < 8 {
                    return malformed();
                }
                self.pos = p + 8;
                Val::I64(u64::from_le_bytes(self.buf[p..p + 8].try_into().unwrap()))
            }
            2 => {
                let size = read_varint(self.buf, &mut self.pos)?;
                if size >= i32::MAX as u64 || size as usize > self.buf.len() - self.pos {
                    return malformed();
                }
                let p = self.pos;
                self.pos = p + size as usize;
                Val::Len(&self.buf[p..self.pos])
            }
            3 => {
                // No field of onnx.proto is a group: always an unknown field.
                if number == 0 {
                    return malformed();
                }
                skip_group(self.buf, &mut self.pos, self.depth, number)?;
                Val::Group
            }
            5 => {
                let p = self.pos;
                if self.buf.len() - p < 4 {
                    return malformed();
                }
                self.pos = p + 4;
                Val::I32(u32::from_le_bytes(self.buf[p..p + 4].try_into().unwrap()))
            }
            // 4: END_GROUP outside a group; 6, 7: no such wire type.
            _ => return malformed(),
        };
        if number == 0 {
            return malformed();
        }
        Ok(Some((number, val)))
    }
}

/// Skips an unknown group that starts at `*pos` (after its START_GROUP tag) in a message with
/// `depth` levels left, up to and including its END_GROUP.
fn skip_group(buf: &[u8], pos: &mut usize, depth: u32, number: u32) -> R<()> {
    // Python's upb skips unknown groups with its wire reader, which reports running out of depth
    // as a malformed buffer (not MaxDepth): the limit is the same, the status is not.
    if *pos >= buf.len() || depth == 0 {
        return malformed();
    }
    let inner = depth - 1;
    loop {
        if *pos >= buf.len() {
            return malformed(); // no END_GROUP before the end of the enclosing message
        }
        let start = *pos;
        let tag = read_varint(buf, pos)?;
        if *pos - start > 5 || tag > u32::MAX as u64 {
            return malformed();
        }
        let tag = tag as u32;
        let field = tag >> 3;
        match tag & 7 {
            0 => {
                read_varint(buf, pos)?;
            }
            1 => {
                if buf.len() - *pos < 8 {
                    return malformed();
                }
                *pos += 8;
            }
            2 => {
                let size = read_varint(buf, pos)?;
                if size >= i32::MAX as u64 || size as usize > buf.len() - *pos {
                    return malformed();
                }
                *pos += size as usize;
            }
            3 => skip_group(buf, pos, inner, field)?,
            4 => {
                return if field == number { Ok(()) } else { malformed() };
            }
            5 => {
                if buf.len() - *pos < 4 {
                    return malformed();
                }
                *pos += 4;
            }
            _ => return malformed(),
        }
    }
}

// -- schema-driven checking of the fields the extractor does not read ---------------------------

/// What a known field holds (onnx.proto, as the installed onnx package declares it).
#[derive(Clone, Copy)]
pub enum Kind {
    /// int32/int64/uint64/enum: any varint.
    Varint,
    Fixed32,
    Fixed64,
    /// string/bytes: any length-delimited payload.
    Bytes,
    Msg(&'static Schema),
}

pub struct FieldDef {
    pub number: u32,
    pub kind: Kind,
    pub repeated: bool,
}

pub struct Schema {
    pub name: &'static str,
    pub fields: &'static [FieldDef],
}

impl Schema {
    #[inline]
    fn field(&self, number: u32) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.number == number)
    }
}

/// Checks a field the caller does not read: known sub-messages are checked recursively, packed
/// repeated numbers element by element; anything else was fully checked by `Fields::next`.
#[inline]
pub fn check_field(schema: &Schema, fields: &Fields, number: u32, val: Val) -> R<()> {
    let Val::Len(bytes) = val else { return Ok(()) };
    let Some(def) = schema.field(number) else {
        return Ok(());
    };
    match def.kind {
        Kind::Msg(sub) => check_message(bytes, sub, fields.enter()?),
        Kind::Varint if def.repeated => check_packed_varints(bytes),
        Kind::Fixed32 if def.repeated => check_packed_fixed(bytes, 4),
        Kind::Fixed64 if def.repeated => check_packed_fixed(bytes, 8),
        _ => Ok(()),
    }
}

/// Checks a whole message of a known type (everything protobuf would check while parsing it).
pub fn check_message(buf: &[u8], schema: &Schema, depth: u32) -> R<()> {
    let mut fields = Fields::new(buf, depth);
    while let Some((number, val)) = fields.next()? {
        check_field(schema, &fields, number, val)?;
    }
    Ok(())
}

#[inline]
pub fn check_packed_fixed(bytes: &[u8], size: usize) -> R<()> {
    if bytes.len().is_multiple_of(size) {
        Ok(())
    } else {
        malformed()
    }
}

pub fn check_packed_varints(bytes: &[u8]) -> R<()> {
    let mut pos = 0;
    while pos < bytes.len() {
        read_varint(bytes, &mut pos)?;
    }
    Ok(())
}

/// Calls `f` with each element of a repeated varint field (packed or not).
#[inline]
pub fn each_varint(val: Val, mut f: impl FnMut(u64)) -> R<bool> {
    match val {
        Val::Varint(v) => {
            f(v);
            Ok(true)
        }
        Val::Len(bytes) => {
            let mut pos = 0;
            while pos < bytes.len() {
                f(read_varint(bytes, &mut pos)?);
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Calls `f` with each element of a repeated fixed32 field (packed or not).
#[inline]
pub fn each_fixed32(val: Val, mut f: impl FnMut(u32)) -> R<bool> {
    match val {
        Val::I32(v) => {
            f(v);
            Ok(true)
        }
        Val::Len(bytes) => {
            check_packed_fixed(bytes, 4)?;
            for chunk in bytes.chunks_exact(4) {
                f(u32::from_le_bytes(chunk.try_into().unwrap()));
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        let mut pos = 0;
        assert_eq!(read_varint(&[0x96, 0x01], &mut pos), Ok(150));
        assert_eq!(pos, 2);
        let mut pos = 0;
        let ten = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        assert_eq!(read_varint(&ten, &mut pos), Ok(u64::MAX));
        let mut pos = 0;
        let eleven = [0xff; 11];
        assert_eq!(read_varint(&eleven, &mut pos), Err(DecodeError::Malformed));
        let mut pos = 0;
        assert_eq!(read_varint(&[0x80], &mut pos), Err(DecodeError::Malformed));
    }

    #[test]
    fn groups_and_field_zero() {
        // field 1 START_GROUP, field 2 varint 5, field 1 END_GROUP
        let ok = [0x0b, 0x10, 0x05, 0x0c];
        let mut f = Fields::new(&ok, 100);
        assert!(matches!(f.next(), Ok(Some((1, Val::Group)))));
        let zero_inside = [0x0b, 0x00, 0x01, 0x03, 0x04, 0x0c];
        assert!(matches!(
            Fields::new(&zero_inside, 100).next(),
            Ok(Some((1, Val::Group)))
        ));
        let bad = [0x0b, 0x10, 0x05, 0x14]; // END_GROUP of field 2
        assert_eq!(
            Fields::new(&bad, 100).next().err(),
            Some(DecodeError::Malformed)
        );
        let zero = [0x00, 0x01];
        assert_eq!(
            Fields::new(&zero, 100).next().err(),
            Some(DecodeError::Malformed)
        );
        assert_eq!(
            Fields::new(&[0x0b, 0x0c], 0).next().err(),
            Some(DecodeError::Malformed)
        );
    }
}
