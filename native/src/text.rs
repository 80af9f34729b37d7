//! Python's spellings: `bytes.decode("utf-8", errors="backslashreplace")`, `json.dumps` string
//! escaping (with and without `ensure_ascii`), `repr(float)` and `str(np.float32)`.

use std::borrow::Cow;
use std::fmt::Write;

/// `raw.decode("utf-8", errors="backslashreplace")`: every byte of an invalid sequence becomes
/// `\xNN` (lower-case hex). Python and Rust agree on which bytes are invalid (maximal subparts).
#[inline]
pub fn decode(raw: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(decode_slow(raw)),
    }
}

#[cold]
fn decode_slow(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len() + 8);
    for chunk in raw.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A JSON string literal as `json.dumps(s, ensure_ascii=False)` writes it: only `"`, `\` and
/// control characters below 0x20 are escaped.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.push_str(&s[start..i]);
        push_escape(out, b as u32);
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[inline]
fn push_escape(out: &mut String, c: u32) {
    match c {
        0x22 => out.push_str("\\\""),
        0x5c => out.push_str("\\\\"),
        0x08 => out.push_str("\\b"),
        0x0c => out.push_str("\\f"),
        0x0a => out.push_str("\\n"),
        0x0d => out.push_str("\\r"),
        0x09 => out.push_str("\\t"),
        _ => push_u_escape(out, c),
    }
}

#[inline]
fn push_u_escape(out: &mut String, c: u32) {
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((c >> shift) & 0xf) as usize] as char);
    }
}

/// A JSON string literal as `json.dumps(s)` (ensure_ascii=True) writes it: everything outside
/// printable ASCII as `\uXXXX` (surrogate pairs above the BMP).
pub fn push_json_str_ascii(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        let c = ch as u32;
        if (0x20..=0x7e).contains(&c) && c != 0x22 && c != 0x5c {
            out.push(ch);
        } else if c >= 0x10000 {
            let v = c - 0x10000;
            push_u_escape(out, 0xd800 | (v >> 10));
            push_u_escape(out, 0xdc00 | (v & 0x3ff));
        } else {
            push_escape(out, c);
        }
    }
    out.push('"');
}

/// Python's `repr` layout of a float from its shortest round-trip digits (`digits` without a
/// dot, value = 0.DIGITS × 10^decpt): fixed notation for -4 < decpt <= 16, else `d.ddde±XX`.
fn push_python_float(out: &mut String, negative: bool, digits: &str, decpt: i32) {
    if negative {
        out.push('-');
    }
    let n = digits.len() as i32;
    if decpt <= -4 || decpt > 16 {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", e.abs());
    } else if decpt <= 0 {
        out.push_str("0.");
        for _ in 0..(-decpt) {
            out.push('0');
        }
        out.push_str(digits);
    } else if decpt >= n {
        out.push_str(digits);
        for _ in 0..(decpt - n) {
            out.push('0');
        }
        out.push_str(".0");
    } else {
        out.push_str(&digits[..decpt as usize]);
        out.push('.');
        out.push_str(&digits[decpt as usize..]);
    }
}

/// Splits Rust's shortest `{:e}` spelling (`-1.2345e-7`) into (negative, digits, decpt).
fn shortest_parts(sci: &str) -> (bool, String, i32) {
    let (negative, body) = match sci.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, sci),
    };
    let (mantissa, exp) = body.split_once('e').unwrap_or((body, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() {
        "0".to_string()
    } else {
        digits.to_string()
    };
    (negative, digits, exp + 1)
}

/// Python (dtoa mode 0) and numpy (Dragon4) break a tie between two shortest spellings towards
/// the even last digit; Rust's shortest formatting rounds it up. A tie needs the exact value of
/// `x` to have exactly one digit more than the shortest spelling, ending in 5: the exact value is
/// an integer times a power of ten, computed here in u128 when it is short enough to tie at all.
fn fix_tie(digits: String, decpt: i32, x: f64, single: bool) -> (String, i32) {
    let k = digits.len();
    let bits = x.abs().to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (mut m, mut e) = if exp_bits == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp_bits - 1075)
    };
    if m == 0 {
        return (digits, decpt);
    }
    while m & 1 == 0 {
        m >>= 1;
        e += 1;
    }
    // exact value = n × 10^-p
    let (n, p): (u128, i32) = if e >= 0 {
        if e > 62 {
            return (digits, decpt);
        }
        ((m as u128) << e, 0)
    } else {
        let p = -e;
        if p > 32 {
            return (digits, decpt); // m × 5^p >= 5^33 > 10^18: too long to tie
        }
        match (m as u128).checked_mul(5u128.pow(p as u32)) {
            Some(n) => (n, p),
            None => return (digits, decpt),
        }
    };
    let mut exact = n.to_string();
    let exact_decpt = exact.len() as i32 - p;
    while exact.len() > 1 && exact.ends_with('0') {
        exact.pop();
    }
    if exact.len() != k + 1
        || !exact.ends_with('5')
        || (exact_decpt != decpt && exact_decpt + 1 != decpt)
    {
        return (digits, decpt);
    }
    // The two candidates are T (exact cut to k digits) and T + 1; the even one wins when it
    // round-trips (below a power of two the gap is half as wide, so it may not).
    let truncated = &exact[..k];
    let (even, even_decpt) = if (truncated.as_bytes()[k - 1] - b'0').is_multiple_of(2) {
        (truncated.to_string(), exact_decpt)
    } else {
        let mut up: Vec<u8> = truncated.bytes().collect();
        let mut i = k;
        let mut carry_out = true;
        while i > 0 {
            i -= 1;
            if up[i] == b'9' {
                up[i] = b'0';
            } else {
                up[i] += 1;
                carry_out = false;
                break;
            }
        }
        if carry_out {
            up.insert(0, b'1');
        }
        (
            String::from_utf8(up).unwrap(),
            exact_decpt + carry_out as i32,
        )
    };
    let t = even.trim_end_matches('0');
    let t = if t.is_empty() { "0" } else { t };
    let text = format!("0.{t}e{even_decpt}");
    let back = if single {
        text.parse::<f32>()
            .map(|v| v as f64 == x.abs())
            .unwrap_or(false)
    } else {
        text.parse::<f64>().map(|v| v == x.abs()).unwrap_or(false)
    };
    if back {
        (t.to_string(), even_decpt)
    } else {
        (digits, decpt)
    }
}

/// `repr(x)` of a finite, non-NaN double (`1e-05`, `0.1`, `1e+16`, `100.0`).
pub fn push_repr_f64(out: &mut String, x: f64) {
    if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    let (negative, digits, decpt) = shortest_parts(&format!("{x:e}"));
    let (digits, decpt) = fix_tie(digits, decpt, x, false);
    push_python_float(out, negative, &digits, decpt);
}

/// The attribute float spelling of attrs.py `canonical_float`, as JSON: `float(str(np.float32(v)))`
/// (the shortest float32 digits, in Python's repr layout), `"nan"`/`"inf"`/`"-inf"` as strings,
/// and 0.0 for both zeros.
pub fn push_canonical_f32(out: &mut String, v: f32) {
    if v.is_nan() {
        out.push_str("\"nan\"");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "\"inf\"" } else { "\"-inf\"" });
    } else if v == 0.0 {
        out.push_str("0.0");
    } else {
        let (negative, digits, decpt) = shortest_parts(&format!("{v:e}"));
        let (digits, decpt) = fix_tie(digits, decpt, v as f64, true);
        push_python_float(out, negative, &digits, decpt);
    }
}

/// `json.dumps(float(v))` of a float32 widened to a double, as `bounded_list` digests it
/// (`NaN`, `Infinity`, `-Infinity` for the non-finite values).
pub fn push_json_f64(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("NaN");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        push_repr_f64(out, x);
    }
}

/// Python's `repr(str)` (the cycle error names a node this way) for the common case; callers with
/// the GIL use Python's own repr instead (see python.rs). Used by the pure-Rust tests only.
pub fn python_str_repr_ascii(s: &str) -> Option<String> {
    if !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for ch in s.chars() {
        if ch == quote || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push(quote);
    Some(out)
}

/// Number of Python characters (code points).
#[inline]
pub fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(v: f32) -> String {
        let mut s = String::new();
        push_canonical_f32(&mut s, v);
        s
    }

    fn f64s(v: f64) -> String {
        let mut s = String::new();
        push_json_f64(&mut s, v);
        s
    }

    #[test]
    fn float_spellings() {
        assert_eq!(f32s(0.1), "0.1");
        assert_eq!(f32s(1e-5), "1e-05");
        assert_eq!(f32s(1e16), "1e+16");
        assert_eq!(f32s(1e15), "1000000000000000.0");
        assert_eq!(f32s(1.0), "1.0");
        assert_eq!(f32s(-2.5), "-2.5");
        assert_eq!(f32s(0.0001), "0.0001");
        assert_eq!(f32s(-0.0), "0.0");
        assert_eq!(f32s(f32::NAN), "\"nan\"");
        assert_eq!(f32s(f32::NEG_INFINITY), "\"-inf\"");
        assert_eq!(f32s(f32::MAX), "3.4028235e+38");
        assert_eq!(f32s(123456.0), "123456.0");
        assert_eq!(f64s(0.1f32 as f64), "0.10000000149011612");
        assert_eq!(f64s(f64::INFINITY), "Infinity");
        assert_eq!(f64s(-0.0), "-0.0");
    }

    #[test]
    fn decoding_and_escaping() {
        assert_eq!(decode(b"a\xffb"), "a\\xffb");
        assert_eq!(decode(b"\xe2\x82A"), "\\xe2\\x82A");
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\n\x01é\x7f");
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001é\x7f\"");
        let mut s = String::new();
        push_json_str_ascii(&mut s, "é😀\x7f");
        assert_eq!(s, "\"\\u00e9\\ud83d\\ude00\\u007f\"");
    }
}

#[cfg(test)]
mod float_file_tests {
    /// With YG_FLOAT_BITS=<file of f32 bit patterns, one a line>, writes both spellings of each to
    /// <file>.rs for tests/test_native_floats.py to compare with Python's.
    #[test]
    fn floats_from_file() {
        let Some(path) = std::env::var_os("YG_FLOAT_BITS") else {
            return;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let mut out = String::new();
        for line in text.lines() {
            let v = f32::from_bits(line.trim().parse().unwrap());
            super::push_canonical_f32(&mut out, v);
            out.push(' ');
            super::push_json_f64(&mut out, v as f64);
            out.push('\n');
        }
        let mut target = path.clone();
        target.push(".rs");
        std::fs::write(target, out).unwrap();
    }
}
