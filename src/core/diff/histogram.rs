//! imara-diff's Histogram line diff, the same answer computed with less work: imara-diff
//! re-populates the occurrence lists of every region at every level of its recursion (as git's
//! xhistogram does); here the old side's occurrences are listed once, sorted by position per
//! token, and a region's occurrences of a token are the part of that list inside the region
//! (its first 64, as imara-diff keeps). The recursion, the choice of each region's longest
//! common run with the fewest occurrences and its tie-breaking are imara-diff's step for step,
//! so the changed lines are the same; a large region's left half is diffed on a second thread
//! while this thread goes on with the right one (the halves are independent).
//!
//! The marks are handed back as an [`imara_diff::Diff`] (whose postprocessing and hunks the
//! callers use): a diff of stand-in tokens — one per kept line pair, one per changed line —
//! which any line diff answers with exactly these marks, checked line by line. Small inputs,
//! and the rare region imara-diff hands to Myers (every common line repeated 64 times or
//! more), take imara-diff's own Histogram.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::Scope;

use imara_diff::{Algorithm, Diff, Token};

/// imara-diff's `MAX_CHAIN_LEN`: a region's occurrence list keeps its first `MAX_CHAIN_LEN + 1`
/// positions, and a run whose rarest line occurs more often is no anchor.
const MAX_CHAIN_LEN: u32 = 63;

/// Inputs with fewer lines than this (both sides) take imara-diff's Histogram as it is.
const FAST_MIN: usize = 4_096;

/// A region is split over two threads only when each half has at least this many lines.
const SPLIT_MIN: usize = 8_192;

/// The Histogram diff of `before` against `after` (tokens below `num_tokens`), the same as
/// `Diff::compute_with(Algorithm::Histogram, …)`.
pub fn diff(before: &[Token], after: &[Token], num_tokens: u32) -> Diff {
    if before.len() + after.len() >= FAST_MIN {
        if let Some(d) = fast(before, after, num_tokens) {
            return d;
        }
    }
    plain(before, after, num_tokens)
}

/// imara-diff's own Histogram.
pub fn plain(before: &[Token], after: &[Token], num_tokens: u32) -> Diff {
    let mut d = Diff::default();
    d.compute_with(Algorithm::Histogram, before, after, num_tokens);
    d
}

/// The fast path; `None` where imara-diff would fall back to Myers.
fn fast(before: &[Token], after: &[Token], num_tokens: u32) -> Option<Diff> {
    let mut removed = vec![false; before.len()];
    let mut added = vec![false; after.len()];
    let prefix = common_prefix(before, after);
    let (b, a) = (&before[prefix..], &after[prefix..]);
    let suffix = common_suffix(b, a);
    let (b, a) = (&b[..b.len() - suffix], &a[..a.len() - suffix]);
    let occ = Occurrences::new(b, num_tokens);
    let failed = AtomicBool::new(false);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let spare = AtomicUsize::new(cores.saturating_sub(1));
    let ctx = Ctx {
        occ: &occ,
        failed: &failed,
        spare: &spare,
    };
    let (rm, ad) = (
        &mut removed[prefix..before.len() - suffix],
        &mut added[prefix..after.len() - suffix],
    );
    let mut memo = Memo::new(&occ);
    std::thread::scope(|s| ctx.run(s, &mut memo, Region { before: b, at: 0 }, a, rm, ad));
    if failed.load(Ordering::Relaxed) {
        return None;
    }
    from_marks(&removed, &added)
}

fn common_prefix(a: &[Token], b: &[Token]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn common_suffix(a: &[Token], b: &[Token]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// Each token's positions in the old side (the part between the common prefix and suffix),
/// ascending: `pos[start[t]..start[t + 1]]`.
struct Occurrences {
    start: Vec<u32>,
    pos: Vec<u32>,
    /// For a token with more than [`SHORT`] positions, its place in a [`Memo`].
    frequent: Vec<u32>,
    num_frequent: usize,
}

/// A token with at most this many positions has its region's ones found by a linear scan;
/// more, by binary searches remembered for the region ([`Memo`]).
const SHORT: usize = 8;

/// The frequent tokens' positions in the region being scanned, found once per region: a
/// region's scan asks for the same few frequent lines (`}`, blank lines) again and again.
struct Memo {
    /// Which region the entries are for.
    region: u32,
    /// Per frequent token: the region it was found for, and the range of `pos` in it.
    found: Vec<(u32, u32, u32)>,
}

impl Memo {
    fn new(occ: &Occurrences) -> Memo {
        Memo {
            region: 0,
            found: vec![(0, 0, 0); occ.num_frequent],
        }
    }
}

impl Occurrences {
    fn new(before: &[Token], num_tokens: u32) -> Occurrences {
        let mut start = vec![0u32; num_tokens as usize + 1];
        for t in before {
            start[t.0 as usize + 1] += 1;
        }
        let mut sum = 0;
        for s in &mut start {
            sum += *s;
            *s = sum;
        }
        // `next[t]` walks from `start[t]` as positions are placed.
        let mut next = start.clone();
        let mut pos = vec![0u32; before.len()];
        for (i, t) in before.iter().enumerate() {
            let k = &mut next[t.0 as usize];
            pos[*k as usize] = i as u32;
            *k += 1;
        }
        let mut num_frequent = 0;
        let frequent = start
            .windows(2)
            .map(|w| {
                if (w[1] - w[0]) as usize > SHORT {
                    num_frequent += 1;
                    num_frequent as u32 - 1
                } else {
                    u32::MAX
                }
            })
            .collect();
        Occurrences {
            start,
            pos,
            frequent,
            num_frequent,
        }
    }

    /// The positions of `t` in `lo..hi`, at most `MAX_CHAIN_LEN + 1` of them (the first ones):
    /// what imara-diff's occurrence list of a region holds. `memo` is this region's.
    fn within(&self, memo: &mut Memo, t: Token, lo: u32, hi: u32) -> &[u32] {
        let (s, e) = (
            self.start[t.0 as usize] as usize,
            self.start[t.0 as usize + 1] as usize,
        );
        let all = &self.pos[s..e];
        if all.len() <= SHORT {
            let first = all.iter().position(|&p| p >= lo).unwrap_or(all.len());
            let end = all[first..].iter().position(|&p| p >= hi);
            let end = end.map_or(all.len(), |k| first + k);
            let end = end.min(first + MAX_CHAIN_LEN as usize + 1);
            return &all[first..end];
        }
        let found = &mut memo.found[self.frequent[t.0 as usize] as usize];
        if found.0 != memo.region {
            let first = all.partition_point(|&p| p < lo);
            let rest = &all[first..];
            let rest = &rest[..rest.len().min(MAX_CHAIN_LEN as usize + 1)];
            let n = match rest.last() {
                Some(&p) if p < hi => rest.len(),
                _ => rest.partition_point(|&p| p < hi),
            };
            *found = (memo.region, (s + first) as u32, (s + first + n) as u32);
        }
        &self.pos[found.1 as usize..found.2 as usize]
    }
}

/// A region of the old side: its tokens and where it starts.
#[derive(Clone, Copy)]
struct Region<'a> {
    before: &'a [Token],
    at: u32,
}

impl Region<'_> {
    fn occurrences<'o>(&self, occ: &'o Occurrences, memo: &mut Memo, t: Token) -> &'o [u32] {
        occ.within(memo, t, self.at, self.at + self.before.len() as u32)
    }
}

/// What every level of the recursion shares.
#[derive(Clone, Copy)]
struct Ctx<'e> {
    occ: &'e Occurrences,
    /// A region imara-diff hands to Myers was met: the answer is imara-diff's own.
    failed: &'e AtomicBool,
    /// Threads that may still be started.
    spare: &'e AtomicUsize,
}

/// The longest common run found so far in a region (positions relative to the region).
#[derive(Default)]
struct Lcs {
    before_start: u32,
    after_start: u32,
    len: u32,
}

impl<'e> Ctx<'e> {
    /// imara-diff's `Histogram::run`: the region's anchor run, the part before it recursively
    /// (on another thread when both parts are large and a core is spare), the part after it
    /// in this loop.
    fn run<'s>(
        self,
        s: &'s Scope<'s, 'e>,
        memo: &mut Memo,
        mut region: Region<'e>,
        mut after: &'e [Token],
        mut removed: &'e mut [bool],
        mut added: &'e mut [bool],
    ) {
        loop {
            if self.failed.load(Ordering::Relaxed) {
                return;
            }
            if region.before.is_empty() {
                added.fill(true);
                return;
            } else if after.is_empty() {
                removed.fill(true);
                return;
            }
            let Some(lcs) = self.find_lcs(memo, region, after) else {
                self.failed.store(true, Ordering::Relaxed);
                return;
            };
            if lcs.len == 0 {
                added.fill(true);
                removed.fill(true);
                return;
            }
            let (b0, a0) = (lcs.before_start as usize, lcs.after_start as usize);
            let (b1, a1) = (b0 + lcs.len as usize, a0 + lcs.len as usize);
            let (rm_left, rm_rest) = std::mem::take(&mut removed).split_at_mut(b0);
            let (ad_left, ad_rest) = std::mem::take(&mut added).split_at_mut(a0);
            let left = Region {
                before: &region.before[..b0],
                at: region.at,
            };
            let right = Region {
                before: &region.before[b1..],
                at: region.at + b1 as u32,
            };
            let (after_left, after_right) = (&after[..a0], &after[a1..]);
            let left_size = b0 + a0;
            let right_size = right.before.len() + after_right.len();
            if left_size >= SPLIT_MIN && right_size >= SPLIT_MIN && self.take_thread() {
                s.spawn(move || {
                    let mut memo = Memo::new(self.occ);
                    self.run(s, &mut memo, left, after_left, rm_left, ad_left);
                    self.spare.fetch_add(1, Ordering::Relaxed);
                });
            } else {
                self.run(s, memo, left, after_left, rm_left, ad_left);
            }
            region = right;
            after = after_right;
            removed = &mut rm_rest[lcs.len as usize..];
            added = &mut ad_rest[lcs.len as usize..];
        }
    }

    fn take_thread(self) -> bool {
        self.spare
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// imara-diff's `find_lcs`: `None` when every common line occurs too often.
    fn find_lcs(self, memo: &mut Memo, region: Region<'_>, after: &[Token]) -> Option<Lcs> {
        memo.region += 1;
        let mut lcs = Lcs::default();
        let mut min_occurrences = MAX_CHAIN_LEN + 1;
        let mut found_cs = false;
        let mut pos = 0u32;
        while let Some(&token) = after.get(pos as usize) {
            let occurrences = region.occurrences(self.occ, memo, token);
            if !occurrences.is_empty() {
                found_cs = true;
                if occurrences.len() as u32 <= min_occurrences {
                    pos = self.update_lcs(
                        memo,
                        &mut lcs,
                        &mut min_occurrences,
                        (pos, occurrences),
                        region,
                        after,
                    );
                    continue;
                }
            }
            pos += 1;
        }
        (!found_cs || min_occurrences <= MAX_CHAIN_LEN).then_some(lcs)
    }

    /// imara-diff's `update_lcs`: the common runs through the line at `after_pos`, one per
    /// occurrence of it in the old region, the best one kept; where the scan goes on.
    fn update_lcs(
        self,
        memo: &mut Memo,
        lcs: &mut Lcs,
        min_occurrences: &mut u32,
        (after_pos, occurrences): (u32, &[u32]),
        region: Region<'_>,
        after: &[Token],
    ) -> u32 {
        let before = region.before;
        let count = occurrences.len() as u32;
        // A line of the region occurs at least once in it: a run's count goes no lower than 1.
        let mut count_of = |t: Token, now: u32| {
            if now <= 1 {
                now
            } else {
                now.min(region.occurrences(self.occ, memo, t).len() as u32)
            }
        };
        let mut next_after = after_pos + 1;
        let mut positions = occurrences.iter().map(|&p| p - region.at);
        let mut at_before = positions.next().unwrap_or(0);
        loop {
            let mut occ = count;
            let (mut start1, mut start2) = (at_before, after_pos);
            while start1 > 0
                && start2 > 0
                && before[start1 as usize - 1] == after[start2 as usize - 1]
            {
                start1 -= 1;
                start2 -= 1;
                occ = count_of(before[start1 as usize], occ);
            }
            let (mut end1, mut end2) = (at_before + 1, after_pos + 1);
            while (end1 as usize) < before.len()
                && (end2 as usize) < after.len()
                && before[end1 as usize] == after[end2 as usize]
            {
                occ = count_of(before[end1 as usize], occ);
                end1 += 1;
                end2 += 1;
            }
            if next_after < end2 {
                next_after = end2;
            }
            let len = end2 - start2;
            if lcs.len < len || *min_occurrences > occ {
                *min_occurrences = occ;
                *lcs = Lcs {
                    before_start: start1,
                    after_start: start2,
                    len,
                };
            }
            // imara-diff compares the next old position with the run's end on the new side.
            match positions.find(|&p| p > end2) {
                Some(p) => at_before = p,
                None => break,
            }
        }
        next_after
    }
}

/// A `Diff` with exactly these marks: the diff of stand-in tokens (each kept line pair one
/// token, each changed line a token of its own), whose only common subsequence is the kept
/// pairs in order. `None` if imara-diff answered otherwise (checked line by line).
fn from_marks(removed: &[bool], added: &[bool]) -> Option<Diff> {
    let kept = removed.iter().filter(|&&r| !r).count();
    if kept != added.iter().filter(|&&a| !a).count() {
        return None;
    }
    let mut next = kept as u32;
    let mut stand_in = |marks: &[bool]| -> Vec<Token> {
        let mut k = 0u32;
        marks
            .iter()
            .map(|&changed| {
                let t = if changed {
                    next += 1;
                    next - 1
                } else {
                    k += 1;
                    k - 1
                };
                Token(t)
            })
            .collect()
    };
    let before = stand_in(removed);
    let after = stand_in(added);
    let mut d = Diff::default();
    d.compute_with(Algorithm::Myers, &before, &after, next);
    let same = |marks: &[bool], is: &dyn Fn(u32) -> bool| {
        marks.iter().enumerate().all(|(i, &m)| is(i as u32) == m)
    };
    (same(removed, &|i| d.is_removed(i)) && same(added, &|i| d.is_added(i))).then_some(d)
}

#[cfg(test)]
mod tests {
    use imara_diff::{Diff, Token};
    use proptest::prelude::*;

    use crate::core::diff::histogram::{diff, fast, plain};

    fn marks(d: &Diff, before: usize, after: usize) -> (Vec<bool>, Vec<bool>) {
        (
            (0..before as u32).map(|i| d.is_removed(i)).collect(),
            (0..after as u32).map(|i| d.is_added(i)).collect(),
        )
    }

    /// The fast path (forced, whatever the size) against imara-diff's Histogram.
    fn check(before: &[u32], after: &[u32]) {
        let num_tokens = before.iter().chain(after).max().map_or(0, |m| m + 1);
        let b: Vec<Token> = before.iter().map(|&t| Token(t)).collect();
        let a: Vec<Token> = after.iter().map(|&t| Token(t)).collect();
        let want = marks(&plain(&b, &a, num_tokens), b.len(), a.len());
        if let Some(d) = fast(&b, &a, num_tokens) {
            assert_eq!(marks(&d, b.len(), a.len()), want);
        }
        assert_eq!(marks(&diff(&b, &a, num_tokens), b.len(), a.len()), want);
    }

    /// A text of `n` lines like source code: some lines unique, most repeated.
    fn source(n: u32, seed: u64) -> Vec<u32> {
        let mut x = seed;
        (0..n)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                match (x >> 33) % 6 {
                    0 | 1 => 1_000 + i,
                    2 => 0,
                    3 => 1,
                    4 => 2 + (x % 13) as u32,
                    _ => 20 + (x % 350) as u32,
                }
            })
            .collect()
    }

    /// `text` with about one line in `every` edited, removed or followed by an inserted one.
    fn edit(text: &[u32], every: u64, seed: u64) -> Vec<u32> {
        let mut x = seed;
        let mut out = Vec::new();
        for &t in text {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            match (x >> 33) % (every * 3) {
                0 => out.push(500_000 + (x % 1_000) as u32),
                1 => {}
                2 => {
                    out.push(t);
                    out.push(20 + (x % 400) as u32);
                }
                _ => out.push(t),
            }
        }
        out
    }

    #[test]
    fn large_edited_sources_diff_as_imara_diff_does_on_both_threads() {
        for (n, every, seed) in [(100_000, 50, 7), (30_000, 10, 3), (20_000, 400, 9)] {
            let old = source(n, seed);
            check(&old, &edit(&old, every, seed + 1));
        }
        // A block moved to the end, and a file reversed.
        let old = source(40_000, 5);
        let mut moved = old.clone();
        let block: Vec<u32> = moved.drain(10_000..15_000).collect();
        moved.extend(block);
        check(&old, &moved);
        let reversed: Vec<u32> = old.iter().rev().copied().collect();
        check(&old, &reversed);
    }

    #[test]
    fn lines_repeated_past_the_chain_limit_take_imara_diffs_fallback() {
        // Every common line occurs over 64 times: imara-diff hands the region to Myers.
        let old: Vec<u32> = (0..6_000).map(|i| i % 3).collect();
        let new: Vec<u32> = (0..6_000).map(|i| (i * 7 + 1) % 3).collect();
        let b: Vec<Token> = old.iter().map(|&t| Token(t)).collect();
        let a: Vec<Token> = new.iter().map(|&t| Token(t)).collect();
        assert!(fast(&b, &a, 3).is_none());
        check(&old, &new);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn the_fast_path_marks_the_lines_imara_diff_marks(
            old in prop::collection::vec(0u32..12, 0..400),
            new in prop::collection::vec(0u32..12, 0..400),
            edits in prop::collection::vec((0usize..400, 0u32..30), 0..40),
        ) {
            check(&old, &new);
            // A mostly equal pair: the old text with a few lines replaced.
            let mut near = old.clone();
            for (at, t) in edits {
                if at < near.len() {
                    near[at] = t;
                }
            }
            check(&old, &near);
        }
    }
}
