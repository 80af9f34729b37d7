//! The architecture hash `yg-wl-1` (younger_graph/hashing.py), in integer arithmetic: the same
//! uint64 wrapping sums and SplitMix64 mixing as the numpy code, so the strings are identical.
//! hashing.py refines several labellings side by side, but each copy stops exactly as it would
//! alone, so each labelling is hashed on its own here.

use std::fmt::Write;

use sha2::{Digest, Sha256};

pub const HASH_VERSION: &str = "yg-wl-1";
pub const MAX_ROUNDS: usize = 48;

const C1: u64 = 0x9E37_79B9_7F4A_7C15;
const C2: u64 = 0xBF58_476D_1CE4_E5B9;
const C3: u64 = 0x94D0_49BB_1331_11EB;
const SALT_IN: u64 = 1;
const SALT_OUT: u64 = 2;
const SALT_PARENT: u64 = 3;
const SALT_CHILD: u64 = 4;

#[inline(always)]
fn mix(x: u64) -> u64 {
    let mut x = x.wrapping_add(C1);
    x ^= x >> 30;
    x = x.wrapping_mul(C2);
    x ^= x >> 27;
    x = x.wrapping_mul(C3);
    x ^= x >> 31;
    x
}

fn count_distinct(h: &[u64], scratch: &mut Vec<u64>) -> usize {
    if h.len() < 2 {
        return h.len();
    }
    scratch.clear();
    scratch.extend_from_slice(h);
    scratch.sort_unstable();
    1 + scratch.windows(2).filter(|w| w[0] != w[1]).count()
}

/// The edges and nesting links of one graph, shared by both labellings.
pub struct Structure<'a> {
    pub src: &'a [i32],
    pub src_slot: &'a [i32],
    pub dst: &'a [i32],
    pub dst_slot: &'a [i32],
    pub parent: &'a [u32],
    pub child: &'a [u32],
    /// BLAKE2b-8 of each nesting link's label.
    pub nest: &'a [u64],
}

/// Per-edge constants: slots enter every message.
pub struct Prepared {
    slot_in: Vec<u64>,
    slot_out: Vec<u64>,
}

pub fn prepare(s: &Structure) -> Prepared {
    let slot_in = s
        .src_slot
        .iter()
        .zip(s.dst_slot)
        .map(|(&a, &b)| mix(((b as u64) << 32) ^ (a as u64) ^ SALT_IN))
        .collect();
    let slot_out = s
        .src_slot
        .iter()
        .zip(s.dst_slot)
        .map(|(&a, &b)| mix(((a as u64) << 32) ^ (b as u64) ^ SALT_OUT))
        .collect();
    Prepared { slot_in, slot_out }
}

/// `graph_hash(labels, flows, nesting)` with the labels already turned into integers.
pub fn graph_hash(labels: &[u64], s: &Structure, p: &Prepared) -> String {
    let n = labels.len();
    let mut h = labels.to_vec();
    let mut scratch = Vec::with_capacity(n);
    let mut distinct = if n > 0 {
        count_distinct(&h, &mut scratch)
    } else {
        0
    };
    let mut incoming = vec![0u64; n];
    let mut outgoing = vec![0u64; n];
    let mut from_parent = vec![0u64; n];
    let mut from_children = vec![0u64; n];
    let no_nesting = mix(SALT_PARENT) ^ mix(SALT_CHILD).wrapping_mul(C2);
    let mut next = vec![0u64; n];
    for _ in 0..MAX_ROUNDS {
        incoming.iter_mut().for_each(|x| *x = 0);
        outgoing.iter_mut().for_each(|x| *x = 0);
        for e in 0..s.src.len() {
            let (a, b) = (s.src[e] as usize, s.dst[e] as usize);
            incoming[b] = incoming[b].wrapping_add(mix(h[a] ^ p.slot_in[e]));
            outgoing[a] = outgoing[a].wrapping_add(mix(h[b] ^ p.slot_out[e]));
        }
        let nested = !s.parent.is_empty();
        if nested {
            from_parent.iter_mut().for_each(|x| *x = 0);
            from_children.iter_mut().for_each(|x| *x = 0);
            for l in 0..s.parent.len() {
                let (a, b) = (s.parent[l] as usize, s.child[l] as usize);
                from_parent[b] = from_parent[b].wrapping_add(mix(h[a] ^ s.nest[l] ^ SALT_PARENT));
                from_children[a] =
                    from_children[a].wrapping_add(mix(h[b] ^ s.nest[l] ^ SALT_CHILD));
            }
        }
        for i in 0..n {
            let nesting = if nested {
                mix(from_parent[i].wrapping_add(SALT_PARENT))
                    ^ mix(from_children[i].wrapping_add(SALT_CHILD)).wrapping_mul(C2)
            } else {
                no_nesting
            };
            next[i] = mix(h[i]
                ^ mix(incoming[i].wrapping_add(SALT_IN))
                ^ mix(outgoing[i].wrapping_add(SALT_OUT)).wrapping_mul(C3)
                ^ nesting);
        }
        std::mem::swap(&mut h, &mut next);
        let now = count_distinct(&h, &mut scratch);
        let stable = now == distinct;
        distinct = now;
        if stable {
            break;
        }
    }
    digest(&mut h, s.src.len(), s.parent.len())
}

fn digest(h: &mut [u64], edges: usize, links: usize) -> String {
    let mut d = Sha256::new();
    d.update(format!("{HASH_VERSION}:{}:{edges}:{links}:", h.len()).as_bytes());
    h.sort_unstable();
    let mut bytes = Vec::with_capacity(h.len() * 8);
    for v in h.iter() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    d.update(&bytes);
    let out = d.finalize();
    let mut s = String::with_capacity(32);
    for b in &out[..16] {
        let _ = write!(s, "{b:02x}");
    }
    s
}
