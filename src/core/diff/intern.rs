//! Lines interned for the line diff, a large pair of texts on two threads: interning is a
//! hash-table probe per line, most of them cache misses, and on a 100,000-line file it costs
//! more than the Histogram diff itself. The lines are sharded by their length's parity, each
//! thread interns its shard of both sides (token ids even for one shard, odd for the other),
//! and the two token lists are merged. Equal lines get equal tokens: all the diff needs.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use imara_diff::sources::lines;
use imara_diff::Token;

/// Both texts together at least this large are interned on two threads.
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// A small, fast hasher for whole lines (FxHash's step over 8-byte words).
#[derive(Default)]
struct LineHasher(u64);

impl Hasher for LineHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0 ^ bytes.len() as u64;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        h = (h.rotate_left(5) ^ u64::from_le_bytes(tail)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        self.0 = h;
    }

    fn write_u8(&mut self, i: u8) {
        // `str`'s end marker: one cheap step, no second word mix.
        self.0 = self.0.rotate_left(5) ^ u64::from(i);
    }

    fn finish(&self) -> u64 {
        // Mix the high bits down: the table uses the low ones.
        self.0 ^ (self.0 >> 29)
    }
}

type Table<'a> = HashMap<&'a str, u32, BuildHasherDefault<LineHasher>>;

/// Two texts as lists of line tokens.
pub struct Interned<'a> {
    pub before: Vec<Token>,
    pub after: Vec<Token>,
    /// Each shard's lines by local id (token `t` is line `t >> 1` of shard `t & 1`, or line
    /// `t` of the one shard).
    texts: Vec<Vec<&'a str>>,
}

impl<'a> Interned<'a> {
    /// The number of distinct token ids (an upper bound, as the diff needs).
    pub fn num_tokens(&self) -> u32 {
        let most = self.texts.iter().map(Vec::len).max().unwrap_or(0);
        (most * self.texts.len()) as u32
    }

    /// The line (with its line ending) of a token.
    pub fn text(&self, t: Token) -> &'a str {
        let shards = self.texts.len() as u32;
        self.texts[(t.0 % shards) as usize][(t.0 / shards) as usize]
    }
}

/// Interns the lines of `old` and `new` (each with its line ending, as imara-diff splits
/// them).
pub fn intern<'a>(old: &'a str, new: &'a str) -> Interned<'a> {
    if old.len() + new.len() < PARALLEL_MIN_BYTES {
        return intern_one(old, new);
    }
    let (zero, one) = std::thread::scope(|s| {
        let one = s.spawn(|| shard(old, new, Some(1)));
        let zero = shard(old, new, Some(0));
        (zero, one.join())
    });
    let Ok(one) = one else {
        // The other thread cannot fail but by a panic; do its part here.
        return intern_one(old, new);
    };
    let merge = |a: Vec<Token>, b: Vec<Token>| -> Vec<Token> {
        a.iter().zip(&b).map(|(x, y)| Token(x.0.min(y.0))).collect()
    };
    Interned {
        before: merge(zero.0, one.0),
        after: merge(zero.1, one.1),
        texts: vec![zero.2, one.2],
    }
}

fn intern_one<'a>(old: &'a str, new: &'a str) -> Interned<'a> {
    let (before, after, texts) = shard(old, new, None);
    Interned {
        before,
        after,
        texts: vec![texts],
    }
}

/// The shard of a line: its length's parity (equal lines have equal lengths, so they land in
/// the same shard, and deciding it costs no hashing).
fn shard_of(line: &str) -> u32 {
    (line.len() & 1) as u32
}

/// Interns the lines of shard `which` (see [`shard_of`]; `None`: every line). Token ids are
/// `local * 2 + which` for a shard, `local` for all; a line of the other shard gets
/// `u32::MAX`, so the two shards' lists merge by taking the smaller id.
fn shard<'a>(
    old: &'a str,
    new: &'a str,
    which: Option<u32>,
) -> (Vec<Token>, Vec<Token>, Vec<&'a str>) {
    // About one line in 20 bytes; a table sized up front is never rehashed.
    let estimate = (old.len() + new.len()) / 20 / if which.is_some() { 2 } else { 1 };
    let mut table: Table<'a> = HashMap::with_capacity_and_hasher(estimate, Default::default());
    let mut texts: Vec<&'a str> = Vec::with_capacity(estimate);
    let mut side = |text: &'a str| -> Vec<Token> {
        let mut out = Vec::with_capacity(text.len() / 16);
        for line in lines(text) {
            let id = match which {
                Some(w) if shard_of(line) != w => u32::MAX,
                _ => {
                    let local = *table.entry(line).or_insert_with(|| {
                        texts.push(line);
                        texts.len() as u32 - 1
                    });
                    match which {
                        Some(w) => local * 2 + w,
                        None => local,
                    }
                }
            };
            out.push(Token(id));
        }
        out
    };
    let before = side(old);
    let after = side(new);
    (before, after, texts)
}

#[cfg(test)]
mod tests {
    use crate::core::diff::intern::{
        intern_one, lines, shard, Interned, Token, PARALLEL_MIN_BYTES,
    };

    #[test]
    fn both_ways_give_equal_tokens_to_equal_lines_only() {
        let old: String = (0..40_000).map(|i| format!("line {}\n", i % 997)).collect();
        let new: String = (0..40_000)
            .map(|i| format!("line {}\n", i % 1009))
            .collect();
        assert!(old.len() + new.len() >= PARALLEL_MIN_BYTES / 2);
        for interned in [intern_one(&old, &new), {
            let (zero, one) = (shard(&old, &new, Some(0)), shard(&old, &new, Some(1)));
            let merge = |a: &[Token], b: &[Token]| -> Vec<Token> {
                a.iter().zip(b).map(|(x, y)| Token(x.0.min(y.0))).collect()
            };
            Interned {
                before: merge(&zero.0, &one.0),
                after: merge(&zero.1, &one.1),
                texts: vec![zero.2, one.2],
            }
        }] {
            let all: Vec<&str> = lines(&old).chain(lines(&new)).collect();
            let tokens: Vec<Token> = interned
                .before
                .iter()
                .chain(&interned.after)
                .copied()
                .collect();
            assert_eq!(all.len(), tokens.len());
            for (line, t) in all.iter().zip(&tokens) {
                assert!(t.0 < interned.num_tokens());
                assert_eq!(interned.text(*t), *line);
            }
            // Equal lines, equal tokens: as many distinct tokens as distinct lines.
            let distinct: std::collections::HashSet<&str> = all.iter().copied().collect();
            let ids: std::collections::HashSet<u32> = tokens.iter().map(|t| t.0).collect();
            assert_eq!(distinct.len(), ids.len());
        }
    }
}
