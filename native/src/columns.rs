//! Arrow-layout column builders: a string column is (int32 offsets, UTF-8 data, optional validity
//! bitmap), exactly what `pa.string()` holds, so the Python side imports it without a copy.

#[derive(Default)]
pub struct StrCol {
    pub offsets: Vec<i32>,
    pub data: Vec<u8>,
    /// Validity bitmap (LSB first), only once a null was pushed.
    pub validity: Option<Vec<u8>>,
    pub nulls: usize,
}

impl StrCol {
    pub fn new() -> Self {
        StrCol {
            offsets: vec![0],
            data: Vec::new(),
            validity: None,
            nulls: 0,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn push(&mut self, s: &str) {
        self.data.extend_from_slice(s.as_bytes());
        self.finish_value(true);
    }

    /// Appends bytes to the value being built; `finish_value` closes it.
    #[inline]
    pub fn extend(&mut self, s: &str) {
        self.data.extend_from_slice(s.as_bytes());
    }

    #[inline]
    pub fn finish_value(&mut self, valid: bool) {
        let n = self.len();
        if !valid {
            let bitmap = self.validity.get_or_insert_with(|| {
                let mut bits = vec![0xffu8; n / 8 + 1];
                clear_from(&mut bits, n);
                bits
            });
            if bitmap.len() * 8 <= n {
                bitmap.push(0);
            }
            self.nulls += 1;
        } else if let Some(bitmap) = &mut self.validity {
            if bitmap.len() * 8 <= n {
                bitmap.push(0);
            }
            bitmap[n / 8] |= 1 << (n % 8);
        }
        // Arrow string offsets are int32; the caller checks the total size (see `fits`).
        self.offsets.push(self.data.len() as i32);
    }

    #[inline]
    pub fn push_null(&mut self) {
        self.finish_value(false);
    }

    /// Whether the data fits int32 offsets.
    pub fn fits(&self) -> bool {
        self.data.len() <= i32::MAX as usize
    }

    pub fn get(&self, i: usize) -> &str {
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        std::str::from_utf8(&self.data[a..b]).unwrap_or("")
    }

    /// A column holding `value` n times.
    pub fn repeated(value: &str, n: usize) -> Self {
        let mut col = StrCol::new();
        col.offsets.reserve(n);
        col.data.reserve(value.len() * n);
        for _ in 0..n {
            col.push(value);
        }
        col
    }
}

/// Clears the bits from `n` on (a fresh all-valid bitmap covers the first n values only).
fn clear_from(bits: &mut [u8], n: usize) {
    let byte = n / 8;
    if byte < bits.len() {
        bits[byte] &= (1u8 << (n % 8)) - 1;
        for b in &mut bits[byte + 1..] {
            *b = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_and_offsets() {
        let mut c = StrCol::new();
        for i in 0..20 {
            if i % 3 == 0 {
                c.push_null();
            } else {
                c.push("ab");
            }
        }
        assert_eq!(c.len(), 20);
        assert_eq!(c.nulls, 7);
        let bits = c.validity.as_ref().unwrap();
        for i in 0..20 {
            assert_eq!(bits[i / 8] >> (i % 8) & 1 == 1, i % 3 != 0, "{i}");
        }
        assert_eq!(*c.offsets.last().unwrap(), 26);
    }
}
