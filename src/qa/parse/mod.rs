//! Parsers of the tools' own output: test reports (JUnit XML, libtest text, TAP), coverage
//! (LCOV, Cobertura XML) and lint findings (cargo's JSON messages, ESLint and Ruff JSON), and
//! the JavaScript tools' reports (Jest/Vitest JSON, Biome and oxlint JSON, `tsc` diagnostics).
//!
//! Each parser reads one format as the tool really writes it (the fixtures under
//! `tests/fixtures/qa/` are captured from the tools, see their README). None of them panics on
//! any input: the ones returning `Result` give a [`ParseError`] for input they cannot read
//! (empty, truncated, garbage); the infallible ones (`libtest`, `tap`, `cargo_json`) return what
//! they could read, and say through [`TestReport::complete`] when the run stopped early.
//!
//! Test names are unique within a report. The parts of a name are joined with `::`:
//!
//! | format    | name                                                                        |
//! |-----------|-----------------------------------------------------------------------------|
//! | JUnit     | `{classname}::{name}` (`tests.test_calc::test_add`, `shapes::tests::adds`)  |
//! | libtest   | `{source}::{test}` (`src/lib.rs::tests::adds`, `doc::src/lib.rs - add (line 7)`) |
//! | TAP       | the `# Subtest:` ancestors, then the test (`strings::upper-cases`)          |
//! | Jest      | `{file}::{describe…}::{title}` (`src/math.test.js::math::adds`)             |
//!
//! If a name still repeats (two tests reported under one name), the later ones get ` #2`,
//! ` #3`, ... appended, in report order.
//!
//! Messages (failures, skip reasons) are trimmed to [`MESSAGE_LIMIT`] bytes, keeping the start
//! and the end (where a panic or assertion usually is) and cutting the middle.
//!
//! [`ParseError`]: crate::qa::results::ParseError
//! [`TestReport::complete`]: crate::qa::results::TestReport::complete

mod coverage;
mod junit;
mod libtest;
mod lint;
mod node;
mod tap;
mod xml;

pub use coverage::{cobertura, lcov};
pub use junit::junit;
pub use libtest::{libtest, libtest_progress, LibtestLine};
pub use lint::{cargo_json, eslint_json, ruff_json};
pub use node::{biome_json, jest_json, oxlint_json, tsc_text};
pub use tap::tap;

use std::collections::HashSet;

use crate::qa::results::TestCase;

/// The most bytes of a test's message kept in a report (the start and the end are kept, the
/// middle is cut and marked).
pub const MESSAGE_LIMIT: usize = 4096;

/// How much of a long message's start is kept; the rest of the limit goes to its end.
const MESSAGE_HEAD: usize = 1024;

/// Trims surrounding whitespace, then cuts a message longer than [`MESSAGE_LIMIT`] in the
/// middle (at char boundaries). `None` when nothing is left.
pub(crate) fn trim_message(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.len() <= MESSAGE_LIMIT {
        return Some(text.to_string());
    }
    let head_end = floor_char_boundary(text, MESSAGE_HEAD);
    let marker_room = 64;
    let tail_start = ceil_char_boundary(
        text,
        text.len() - (MESSAGE_LIMIT - MESSAGE_HEAD - marker_room),
    );
    let cut = tail_start - head_end;
    Some(format!(
        "{}\n[... {cut} bytes cut ...]\n{}",
        &text[..head_end],
        &text[tail_start..]
    ))
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Makes the names unique: a repeated name gets ` #2`, ` #3`, ... (the first keeps its name).
pub fn unique_test_names(tests: &mut [TestCase]) {
    unique_names(tests)
}

/// See [`unique_test_names`].
pub(crate) fn unique_names(tests: &mut [TestCase]) {
    let mut seen: HashSet<String> = HashSet::with_capacity(tests.len());
    for t in tests.iter_mut() {
        if seen.insert(t.name.clone()) {
            continue;
        }
        let mut n = 2u64;
        loop {
            let candidate = format!("{} #{n}", t.name);
            if seen.insert(candidate.clone()) {
                t.name = candidate;
                break;
            }
            n += 1;
        }
    }
}

/// 1-based line and column (in bytes) of a byte offset, for error messages.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let offset = offset.min(bytes.len());
    let before = &bytes[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    (line, offset - line_start + 1)
}

/// A `serde_json` error with where it happened.
pub(crate) fn json_error(
    format: &'static str,
    e: &serde_json::Error,
) -> crate::qa::results::ParseError {
    crate::qa::results::ParseError::new(format, format!("not valid JSON: {e}"))
}
