//! Lines interned for the line diff: equal lines get equal tokens, all the diff needs. The old
//! text's lines go through a hash table (open addressing over one `u64` per slot: a tag of the
//! hash and the token, so a probe touches one cache line and compares bytes only when the tags
//! match). The new text mostly repeats the old one in order, so its lines are first compared
//! with the old line at a cursor that walks along with them (two lines side by side in memory,
//! no hashing); only a line that differs is looked up, and when it is a line the old text has
//! once, the cursor jumps after it. On a 100,000-line file with 2% of its lines edited that
//! leaves one table probe in fifty for the new side.
//!
//! The old text can be interned while the new one is still being read ([`Old::new`], then
//! [`Old::finish`]).

use imara_diff::sources::lines;
use imara_diff::Token;

/// Two texts as lists of line tokens.
pub struct Interned<'a> {
    pub before: Vec<Token>,
    pub after: Vec<Token>,
    /// The lines by token.
    texts: Vec<&'a str>,
}

impl<'a> Interned<'a> {
    /// The number of distinct tokens.
    pub fn num_tokens(&self) -> u32 {
        self.texts.len() as u32
    }

    /// The line (with its line ending) of a token.
    pub fn text(&self, t: Token) -> &'a str {
        self.texts[t.0 as usize]
    }
}

/// Interns the lines of `old` and `new` (each with its line ending, as imara-diff splits
/// them).
pub fn intern<'a>(old: &'a str, new: &'a str) -> Interned<'a> {
    Old::new(old).finish(new)
}

/// A line's hash: FxHash's step over 8-byte words, then the high bits mixed down (the tag
/// takes the low 32 bits, the slot the high ones).
fn hash(line: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut h = line.len() as u64;
    let mut words = line.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut tail = [0u8; 8];
        tail[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

/// Old lines whose slots are loaded together before they are looked up.
const BATCH: usize = 16;

/// `unique_at` of a token seen more than once in the old text.
const REPEATED: u32 = u32::MAX;

/// The old text interned, waiting for the new one.
pub struct Old<'a> {
    /// Slots: `0` empty, else the hash's low 32 bits above `token + 1`.
    slots: Vec<u64>,
    /// log2 of the slot count.
    bits: u32,
    texts: Vec<&'a str>,
    before: Vec<Token>,
    /// For each token of the old text: its line number when the old text has it once.
    unique_at: Vec<u32>,
}

impl<'a> Old<'a> {
    /// Interns the lines of `old`.
    pub fn new(old: &'a str) -> Old<'a> {
        // About one distinct line in 40 bytes of source, the table at most half full.
        let bits = (old.len() / 20)
            .max(64)
            .next_power_of_two()
            .trailing_zeros();
        let guess = old.len() / 24 + 1;
        let mut this = Old {
            slots: vec![0; 1 << bits],
            bits,
            texts: Vec::with_capacity(guess),
            before: Vec::with_capacity(guess),
            unique_at: Vec::with_capacity(guess),
        };
        // Lines in batches: the slots of a whole batch are loaded first, independent loads
        // the processor overlaps, so the probes that follow find them in the cache (one miss
        // at a time was most of the interning's time).
        let mut all = lines(old);
        let mut batch: [(&str, u64); BATCH] = [("", 0); BATCH];
        loop {
            let mut n = 0;
            for (slot, line) in batch.iter_mut().zip(&mut all) {
                *slot = (line, hash(line.as_bytes()));
                n += 1;
            }
            if n == 0 {
                break;
            }
            let shift = 64 - this.bits;
            let touched = batch[..n]
                .iter()
                .fold(0u64, |acc, &(_, h)| acc ^ this.slots[(h >> shift) as usize]);
            std::hint::black_box(touched);
            for &(line, h) in &batch[..n] {
                let known = this.texts.len();
                let t = this.token_hashed(line, h);
                if t.0 as usize == known {
                    this.unique_at.push(this.before.len() as u32);
                } else {
                    this.unique_at[t.0 as usize] = REPEATED;
                }
                this.before.push(t);
            }
        }
        this
    }

    /// Interns the lines of `new` and gives both token lists.
    pub fn finish(mut self, new: &'a str) -> Interned<'a> {
        let mut after = Vec::with_capacity(self.before.len() + self.before.len() / 8);
        let mut at = 0usize;
        for line in lines(new) {
            let t = match self.before.get(at) {
                Some(&t) if self.texts[t.0 as usize] == line => {
                    at += 1;
                    t
                }
                _ => {
                    let t = self.token(line);
                    if let Some(&pos) = self.unique_at.get(t.0 as usize) {
                        if pos != REPEATED {
                            at = pos as usize + 1;
                        }
                    }
                    t
                }
            };
            after.push(t);
        }
        Interned {
            before: self.before,
            after,
            texts: self.texts,
        }
    }

    /// The token of `line`, a new one when it has not been seen.
    fn token(&mut self, line: &'a str) -> Token {
        self.token_hashed(line, hash(line.as_bytes()))
    }

    /// [`Old::token`] of a line whose hash is `h`.
    fn token_hashed(&mut self, line: &'a str, h: u64) -> Token {
        let tag = h << 32;
        let mask = (1usize << self.bits) - 1;
        let mut i = (h >> (64 - self.bits)) as usize;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                break;
            }
            if slot & !0xffff_ffff == tag {
                let t = (slot as u32) - 1;
                if self.texts[t as usize] == line {
                    return Token(t);
                }
            }
            i = (i + 1) & mask;
        }
        let t = self.texts.len() as u32;
        self.slots[i] = tag | u64::from(t + 1);
        self.texts.push(line);
        if self.texts.len() * 2 > self.slots.len() {
            self.grow();
        }
        Token(t)
    }

    /// Twice the slots, every token placed again.
    fn grow(&mut self) {
        self.bits += 1;
        self.slots = vec![0; 1 << self.bits];
        let mask = (1usize << self.bits) - 1;
        for (t, line) in self.texts.iter().enumerate() {
            let h = hash(line.as_bytes());
            let mut i = (h >> (64 - self.bits)) as usize;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = (h << 32) | (t as u64 + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::core::diff::intern::{intern, lines, Token};

    /// Tokens are right when equal lines, and only they, have equal tokens, and each token's
    /// text is its line.
    fn check(old: &str, new: &str) {
        let interned = intern(old, new);
        let all: Vec<&str> = lines(old).chain(lines(new)).collect();
        let tokens: Vec<Token> = interned
            .before
            .iter()
            .chain(&interned.after)
            .copied()
            .collect();
        assert_eq!(all.len(), tokens.len());
        assert_eq!(interned.before.len(), lines(old).count());
        let mut seen: HashMap<&str, u32> = HashMap::new();
        for (line, t) in all.iter().zip(&tokens) {
            assert!(t.0 < interned.num_tokens());
            assert_eq!(interned.text(*t), *line);
            assert_eq!(*seen.entry(line).or_insert(t.0), t.0, "{line:?}");
        }
        assert_eq!(seen.len() as u32, interned.num_tokens());
    }

    #[test]
    fn equal_lines_and_only_they_get_equal_tokens() {
        let old: String = (0..40_000).map(|i| format!("line {}\n", i % 997)).collect();
        let new: String = (0..40_000)
            .map(|i| format!("line {}\n", i % 1009))
            .collect();
        check(&old, &new);
        // The new text follows the old one with insertions, removals, edits, a moved block,
        // repeated lines and no final newline: the cursor loses and finds its way.
        let old: String = (0..5_000)
            .map(|i| match i % 7 {
                0 => "}\n".to_string(),
                1 => "\n".to_string(),
                _ => format!("    let v{i} = {};\n", i % 13),
            })
            .collect();
        let mut new_lines: Vec<String> = lines(&old).map(str::to_string).collect();
        new_lines.insert(10, "inserted\n".into());
        new_lines.remove(200);
        new_lines[300] = "    edited\n".into();
        let moved: Vec<String> = new_lines.drain(1_000..1_400).collect();
        new_lines.extend(moved);
        new_lines.push("last, no newline".into());
        check(&old, &new_lines.concat());
        check("", "a\nb");
        check("a\r\nb\n", "");
        check("same\nsame\n", "same\nsame\nsame");
    }

    #[test]
    fn the_table_grows_past_its_first_guess() {
        // Short distinct lines: far more of them than the size guess (one in 20 bytes).
        let old: String = (0..50_000).map(|i| format!("{i:x}\n")).collect();
        let new: String = (0..50_000).rev().map(|i| format!("{i:x}\n")).collect();
        check(&old, &new);
    }
}
