//! TAP (Test Anything Protocol, version 13/14) as `node --test --test-reporter=tap` writes it.

use super::{trim_message, unique_names};
use crate::qa::results::{TestCase, TestOutcome, TestReport};

/// Reads a TAP stream.
///
/// - **Tests**: every `ok`/`not ok` line, at any indentation (subtests are indented under
///   their parent, and reported before it). `# SKIP` and `# TODO` directives make a test
///   skipped (a TODO test is not done yet, pass or fail). Node's `describe` blocks are reported
///   as tests with `type: 'suite'` in their YAML block: they are left out (their tests carry
///   the results, and node's own `# tests` count leaves them out too) unless the suite itself
///   failed for another reason than its subtests (a throwing `describe` body, a hook).
/// - **Names**: the names of the enclosing `# Subtest:` lines, then the test's description,
///   joined with `::` (`strings::throws on purpose`); a test without a description is named
///   by its number (`test 3`).
/// - **Duration**: `duration_ms` from the YAML diagnostic block (`  ---` ... `  ...`).
/// - **Message**: for a failed test the block's `error` (and `location`); for a skipped test
///   the directive's reason.
/// - **Complete**: a top-level plan (`1..N`) was seen and no `Bail out!`.
/// - **Announced**: node's closing `# tests N` count when present (it counts the same tests,
///   suites left out); `None` for other producers.
pub fn tap(text: &str) -> TestReport {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut tests = Vec::new();
    let mut plan = false;
    let mut bailed = false;
    let mut announced = None;
    // `# Subtest: NAME` lines not yet closed by their result line: (indent, name).
    let mut subtests: Vec<(usize, String)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let indent = line.len() - line.trim_start().len();
        let body = line.trim();
        if let Some(name) = body.strip_prefix("# Subtest:") {
            subtests.retain(|(d, _)| *d < indent);
            subtests.push((indent, name.trim().to_string()));
            continue;
        }
        if indent == 0 {
            if is_plan(body) {
                plan = true;
                continue;
            }
            if body.starts_with("Bail out!") {
                bailed = true;
                continue;
            }
            if let Some(n) = body.strip_prefix("# tests ") {
                announced = n.trim().parse().ok();
                continue;
            }
        }
        let Some(result) = result_line(body) else {
            continue;
        };
        // The YAML block right after the result line, if any.
        let mut yaml = Yaml::default();
        if let Some(next) = lines.get(i) {
            let next_indent = next.len() - next.trim_start().len();
            if next.trim() == "---" && next_indent >= indent {
                let start = i + 1;
                let mut end = start;
                while end < lines.len() {
                    let l = lines[end];
                    let l_indent = l.len() - l.trim_start().len();
                    if l.trim() == "..." && l_indent == next_indent {
                        break;
                    }
                    end += 1;
                }
                yaml = Yaml::read(&lines[start..end.min(lines.len())]);
                i = (end + 1).min(lines.len());
            }
        }
        // Ancestors: the open subtests less indented than this line; this test's own
        // `# Subtest:` line (same indentation) is closed by it.
        subtests.retain(|(d, _)| *d <= indent);
        let mut path: Vec<&str> = subtests
            .iter()
            .filter(|(d, _)| *d < indent)
            .map(|(_, n)| n.as_str())
            .collect();
        let own = if result.description.is_empty() {
            format!("test {}", result.number.unwrap_or(tests.len() as u64 + 1))
        } else {
            result.description.clone()
        };
        path.push(&own);
        let name = path.join("::");
        subtests.retain(|(d, _)| *d < indent);

        let outcome = match (&result.directive, result.ok) {
            (Some(_), _) => TestOutcome::Skipped,
            (None, true) => TestOutcome::Passed,
            (None, false) => TestOutcome::Failed,
        };
        let is_suite = yaml.get("type").is_some_and(|t| t == "suite");
        if is_suite
            && !(outcome == TestOutcome::Failed
                && yaml
                    .get("failureType")
                    .is_some_and(|t| t != "subtestsFailed"))
        {
            continue;
        }
        let message = match outcome {
            TestOutcome::Failed => {
                let mut m = yaml.get("error").unwrap_or_default().to_string();
                if let Some(location) = yaml.get("location") {
                    m = format!("{m}\nat {location}");
                }
                trim_message(&m)
            }
            TestOutcome::Skipped => result.directive.as_deref().and_then(trim_message),
            TestOutcome::Passed => None,
        };
        let duration = yaml
            .get("duration_ms")
            .and_then(|d| d.parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map(|ms| ms / 1000.0);
        tests.push(TestCase {
            name,
            outcome,
            duration,
            message,
        });
    }
    unique_names(&mut tests);
    TestReport {
        tests,
        complete: plan && !bailed,
        announced,
    }
}

/// `1..N`, possibly with a `# SKIP reason` directive.
fn is_plan(body: &str) -> bool {
    let Some((a, b)) = body.split_once("..") else {
        return false;
    };
    let b = b.split('#').next().unwrap_or("").trim();
    !a.is_empty()
        && a.chars().all(|c| c.is_ascii_digit())
        && !b.is_empty()
        && b.chars().all(|c| c.is_ascii_digit())
}

struct ResultLine {
    ok: bool,
    number: Option<u64>,
    description: String,
    /// `Some(reason)` for a `# SKIP` or `# TODO` directive (the reason may be empty).
    directive: Option<String>,
}

/// `ok 1 - name`, `not ok 2 - name # SKIP reason`, `ok 3 name # TODO`.
fn result_line(body: &str) -> Option<ResultLine> {
    let (ok, rest) = if let Some(r) = body.strip_prefix("not ok") {
        (false, r)
    } else if let Some(r) = body.strip_prefix("ok") {
        (true, r)
    } else {
        return None;
    };
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let rest = rest.trim_start();
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let number = rest[..digits].parse().ok();
    let rest = rest[digits..].trim_start();
    let rest = rest
        .strip_prefix("- ")
        .unwrap_or(if rest == "-" { "" } else { rest });

    // The directive starts at the first unescaped `#`.
    let mut description = String::new();
    let mut directive_text = None;
    let mut chars = rest.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => description.push(escaped),
                None => description.push('\\'),
            },
            '#' => {
                directive_text = Some(&rest[at + 1..]);
                break;
            }
            c => description.push(c),
        }
    }
    let directive = directive_text.and_then(|d| {
        let d = d.trim_start();
        let word_end = d
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(d.len());
        let word = d[..word_end].to_ascii_uppercase();
        // TAP allows any word starting `SKIP` (`skipped`) and `TODO`.
        (word.starts_with("SKIP") || word == "TODO").then(|| d[word_end..].trim().to_string())
    });
    Some(ResultLine {
        ok,
        number,
        description: description.trim().to_string(),
        directive,
    })
}

/// The top-level keys of a YAML diagnostic block, values as strings: plain, `'single'` or
/// `"double"` quoted scalars, and `|`/`>` block scalars (read literally, lines joined with
/// newlines). Enough for node's blocks; nested maps are kept as their raw text.
#[derive(Default)]
struct Yaml {
    entries: Vec<(String, String)>,
}

impl Yaml {
    fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn read(lines: &[&str]) -> Yaml {
        let indent_of = |l: &str| l.len() - l.trim_start().len();
        let base = lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| indent_of(l))
            .min()
            .unwrap_or(0);
        let mut entries = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            i += 1;
            if line.trim().is_empty() || indent_of(line) != base {
                continue;
            }
            let Some((key, value)) = line.trim().split_once(':') else {
                continue;
            };
            let key = key.trim().to_string();
            let value = value.trim();
            // Lines more indented than the key belong to its value.
            let mut more = Vec::new();
            while i < lines.len() && (lines[i].trim().is_empty() || indent_of(lines[i]) > base) {
                more.push(lines[i]);
                i += 1;
            }
            while more.last().is_some_and(|l| l.trim().is_empty()) {
                more.pop();
            }
            let block_indent = more
                .iter()
                .filter(|l| !l.trim().is_empty())
                .map(|l| indent_of(l))
                .min()
                .unwrap_or(0);
            let block = || {
                more.iter()
                    .map(|l| l.get(block_indent..).unwrap_or("").trim_end())
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let value = if value.is_empty() || value.starts_with('|') || value.starts_with('>') {
                block()
            } else if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\''))
            {
                inner.replace("''", "'")
            } else if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                unescape_double(inner)
            } else {
                value.to_string()
            };
            entries.push((key, value));
        }
        Yaml { entries }
    }
}

fn unescape_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}
