//! Line diffs with imara-diff's Histogram algorithm (it matches `git diff --histogram` and
//! does not degrade on moved blocks the way Myers does), grouped into unified hunks with
//! context, and word-level changes inside each changed line pair with `similar`.

use imara_diff::{Diff, IndentHeuristic, IndentLevel};

use super::histogram;
use super::intern::{intern, Interned};

use crate::protocol::diff::{DiffLine, Hunk, LineKind, Span};

/// Lines of context around each change, as `git diff` shows by default.
pub const CONTEXT: u32 = 3;

/// Word diffs are computed only for line pairs up to this length and change blocks up to this
/// many lines: beyond that a person reads the lines, not the words (and a moved block would
/// cost pairing work for nothing).
const WORD_LINE_MAX: usize = 2_000;
const WORD_BLOCK_MAX: usize = 256;

/// The result of diffing two texts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextDiff {
    pub hunks: Vec<Hunk>,
    pub additions: u32,
    pub deletions: u32,
}

fn split_line(token: &str) -> (String, bool) {
    match token.strip_suffix('\n') {
        Some(t) => (t.to_string(), false),
        None => (token.to_string(), true),
    }
}

fn compute(input: &Interned<'_>) -> Diff {
    histogram::diff(&input.before, &input.after, input.num_tokens())
}

/// Only the counts of a line diff (what `--stat` shows): the same Histogram diff as
/// [`diff_text`], without building hunks, line texts or word spans.
pub fn count_changes(old: &str, new: &str) -> (u32, u32) {
    count_interned(&intern(old, new))
}

/// [`count_changes`] of two texts already interned.
pub fn count_interned(input: &Interned<'_>) -> (u32, u32) {
    let diff = compute(input);
    (diff.count_additions(), diff.count_removals())
}

/// Diffs `old` against `new` line by line, with the word-level changes of changed line
/// pairs (what the diff viewer shows).
pub fn diff_text(old: &str, new: &str, context: u32) -> TextDiff {
    diff_with(old, new, context, true)
}

/// Like [`diff_text`] without the word-level spans: what a unified patch prints.
pub fn diff_lines(old: &str, new: &str, context: u32) -> TextDiff {
    diff_with(old, new, context, false)
}

fn diff_with(old: &str, new: &str, context: u32, with_words: bool) -> TextDiff {
    diff_interned(&intern(old, new), context, with_words)
}

impl TextDiff {
    /// The hunks and the counts.
    pub fn parts(self) -> (Vec<Hunk>, u32, u32) {
        (self.hunks, self.additions, self.deletions)
    }
}

/// [`diff_text`] (`with_words`) or [`diff_lines`] of two texts already interned.
pub fn diff_interned(input: &Interned<'_>, context: u32, with_words: bool) -> TextDiff {
    let mut diff = compute(input);
    // The slider heuristic `Diff::postprocess_lines` applies, on our tokens.
    let indent = |t| IndentLevel::for_ascii_line(input.text(t).bytes(), 8);
    diff.postprocess_with(&input.before, &input.after, IndentHeuristic::new(indent));
    let changes: Vec<imara_diff::Hunk> = diff.hunks().collect();
    let old_total = input.before.len() as u32;
    let line = |side: &[imara_diff::Token], i: u32| -> (String, bool) {
        split_line(input.text(side[i as usize]))
    };

    let mut out = TextDiff {
        additions: diff.count_additions(),
        deletions: diff.count_removals(),
        hunks: Vec::new(),
    };
    let mut i = 0;
    while i < changes.len() {
        // Group changes whose context would touch or overlap into one hunk.
        let mut j = i;
        while j + 1 < changes.len()
            && changes[j + 1]
                .before
                .start
                .saturating_sub(changes[j].before.end)
                <= 2 * context
        {
            j += 1;
        }
        let (first, last) = (&changes[i], &changes[j]);
        let old_from = first.before.start.saturating_sub(context);
        let new_from = first.after.start - (first.before.start - old_from);
        let old_to = (last.before.end + context).min(old_total);
        let new_to = last.after.end + (old_to - last.before.end);

        let mut lines = Vec::new();
        let (mut o, mut n) = (old_from, new_from);
        // Context lines up to (not including) old line `until`.
        let push_context = |lines: &mut Vec<DiffLine>, o: &mut u32, n: &mut u32, until: u32| {
            while *o < until {
                let (text, no_newline) = line(&input.before, *o);
                lines.push(DiffLine {
                    kind: LineKind::Context,
                    old_no: Some(*o + 1),
                    new_no: Some(*n + 1),
                    text,
                    no_newline,
                    words: Vec::new(),
                });
                *o += 1;
                *n += 1;
            }
        };
        for change in &changes[i..=j] {
            push_context(&mut lines, &mut o, &mut n, change.before.start);
            let removed: Vec<(String, bool)> = change
                .before
                .clone()
                .map(|k| line(&input.before, k))
                .collect();
            let added: Vec<(String, bool)> = change
                .after
                .clone()
                .map(|k| line(&input.after, k))
                .collect();
            let (old_words, new_words) = if with_words {
                word_changes(&removed, &added)
            } else {
                (
                    vec![Vec::new(); removed.len()],
                    vec![Vec::new(); added.len()],
                )
            };
            for (k, ((text, no_newline), words)) in removed.into_iter().zip(old_words).enumerate() {
                lines.push(DiffLine {
                    kind: LineKind::Removed,
                    old_no: Some(change.before.start + k as u32 + 1),
                    new_no: None,
                    text,
                    no_newline,
                    words,
                });
            }
            for (k, ((text, no_newline), words)) in added.into_iter().zip(new_words).enumerate() {
                lines.push(DiffLine {
                    kind: LineKind::Added,
                    old_no: None,
                    new_no: Some(change.after.start + k as u32 + 1),
                    text,
                    no_newline,
                    words,
                });
            }
            o = change.before.end;
            n = change.after.end;
        }
        push_context(&mut lines, &mut o, &mut n, old_to);
        let (old_len, new_len) = (old_to - old_from, new_to - new_from);
        out.hunks.push(Hunk {
            // An empty side names the line before it, as unified diffs do.
            old_start: if old_len == 0 { old_from } else { old_from + 1 },
            old_len,
            new_start: if new_len == 0 { new_from } else { new_from + 1 },
            new_len,
            lines,
        });
        i = j + 1;
    }
    out
}

/// Word-level spans for each removed and added line: line k of the removed run is paired
/// with line k of the added run.
fn word_changes(
    removed: &[(String, bool)],
    added: &[(String, bool)],
) -> (Vec<Vec<Span>>, Vec<Vec<Span>>) {
    let mut old_spans = vec![Vec::new(); removed.len()];
    let mut new_spans = vec![Vec::new(); added.len()];
    if removed.len() > WORD_BLOCK_MAX || added.len() > WORD_BLOCK_MAX {
        return (old_spans, new_spans);
    }
    for (k, ((o, _), (n, _))) in removed.iter().zip(added.iter()).enumerate() {
        if o.len() > WORD_LINE_MAX || n.len() > WORD_LINE_MAX {
            continue;
        }
        if let Some((os, ns)) = word_diff(o, n) {
            old_spans[k] = os;
            new_spans[k] = ns;
        }
    }
    (old_spans, new_spans)
}

/// Splits a line into words for highlighting: runs of letters, digits and `_`, runs of
/// white space, and each other character alone (so `quantity;` is `quantity` + `;`).
fn words(line: &str) -> Vec<&str> {
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            0
        } else if c.is_whitespace() {
            1
        } else {
            2
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<u8> = None;
    for (i, c) in line.char_indices() {
        let k = class(c);
        if let Some(p) = prev {
            if p != k || k == 2 {
                out.push(&line[start..i]);
                start = i;
            }
        }
        prev = Some(k);
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out
}

/// The most words the changed middle of a line pair may hold, both sides together, to be
/// diffed word by word; a longer middle is marked changed as a whole. A bound on the work
/// (the diff's worst case grows with the product of the two sides), the same on every
/// machine: a deadline would make the highlights, and `diff --json`, depend on the load.
pub const WORD_DIFF_WORDS: usize = 2_000;

/// The changed byte ranges of `old` and `new`; `None` when the lines share too little for
/// word highlights to help (they would light up almost everything).
pub fn word_diff(old: &str, new: &str) -> Option<(Vec<Span>, Vec<Span>)> {
    let (old_words, new_words) = (words(old), words(new));
    // Most edited lines change in one place: the common prefix and suffix are settled
    // without a diff, and only the middle goes to `similar`.
    let prefix = old_words
        .iter()
        .zip(&new_words)
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = old_words[prefix..]
        .iter()
        .rev()
        .zip(new_words[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let old_mid = &old_words[prefix..old_words.len() - suffix];
    let new_mid = &new_words[prefix..new_words.len() - suffix];
    let offsets = |slices: &[&str]| -> Vec<u32> {
        let mut acc = Vec::with_capacity(slices.len() + 1);
        let mut at = 0u32;
        acc.push(0);
        for s in slices {
            at += s.len() as u32;
            acc.push(at);
        }
        acc
    };
    let old_at = offsets(&old_words);
    let new_at = offsets(&new_words);
    let too_long = old_mid.len() + new_mid.len() > WORD_DIFF_WORDS;
    let ops: Vec<similar::DiffOp> = if old_mid.is_empty() || new_mid.is_empty() || too_long {
        vec![similar::DiffOp::Replace {
            old_index: 0,
            old_len: old_mid.len(),
            new_index: 0,
            new_len: new_mid.len(),
        }]
    } else {
        similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Patience)
            .diff_slices(old_mid, new_mid)
            .ops()
            .to_vec()
    };
    let mut old_spans: Vec<Span> = Vec::new();
    let mut new_spans: Vec<Span> = Vec::new();
    let push = |spans: &mut Vec<Span>, start: u32, end: u32| {
        if start >= end {
            return;
        }
        match spans.last_mut() {
            Some(last) if last.end == start => last.end = end,
            _ => spans.push(Span { start, end }),
        }
    };
    for op in &ops {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        if tag == similar::DiffTag::Equal {
            continue;
        }
        let (o, n) = (prefix + old_range.start, prefix + new_range.start);
        push(&mut old_spans, old_at[o], old_at[prefix + old_range.end]);
        push(&mut new_spans, new_at[n], new_at[prefix + new_range.end]);
    }
    let changed: u32 = old_spans
        .iter()
        .chain(&new_spans)
        .map(|s| s.end - s.start)
        .sum();
    let total = (old.len() + new.len()) as u32;
    if total > 0 && changed * 10 > total * 6 {
        return None;
    }
    Some((old_spans, new_spans))
}

/// Git's test for binary content: a NUL byte in the first 8000 bytes.
pub fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(8000)].contains(&0)
}
