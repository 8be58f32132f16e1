//! Line coverage: LCOV tracefiles (`cargo llvm-cov --lcov`, c8, lcov) and Cobertura XML
//! (`coverage xml` from coverage.py).

use std::collections::{BTreeMap, HashMap};

use super::xml;
use crate::qa::results::{Coverage, FileCoverage, ParseError};

/// The lines of the files seen so far, in the order the files first appear.
#[derive(Default)]
struct Lines {
    order: Vec<String>,
    /// Per file: line number → covered by any record.
    lines: HashMap<String, BTreeMap<u64, bool>>,
}

impl Lines {
    fn file(&mut self, path: &str) -> &mut BTreeMap<u64, bool> {
        if !self.lines.contains_key(path) {
            self.order.push(path.to_string());
        }
        self.lines.entry(path.to_string()).or_default()
    }

    fn hit(&mut self, path: &str, line: u64, covered: bool) {
        *self.file(path).entry(line).or_insert(false) |= covered;
    }
}

/// Reads an LCOV tracefile: `SF:` starts a file's record, `DA:line,hits[,checksum]` gives a
/// line, `LF:`/`LH:` the record's own totals, `end_of_record` ends it; the other keys
/// (`TN`, `FN*`, `BR*`, `VER`) are skipped.
///
/// **Counting**: from the `DA:` lines, a line being covered when any record has a non-zero
/// count for it: the same file in several records (concatenated tracefiles, one record per
/// test) is merged, not counted twice. `LF:`/`LH:` are used only for a file none of whose
/// records has `DA:` lines (the largest values seen for it).
///
/// Note that this can differ from llvm-cov's own summary (`cargo llvm-cov report`, and the
/// `LH:` llvm-cov writes): llvm-cov counts a line of a function compiled into several test
/// binaries (a library's function called from its unit tests and from an integration test) by
/// the best single instantiation, while its `DA:` lines (and this count) take the union. The
/// totals of lines (`LF:`) agree.
///
/// Paths are as written (llvm-cov writes absolute paths). Errors: no `SF:` record at all
/// (empty or not LCOV), a malformed `DA:` line, a record left open at the end (truncated).
pub fn lcov(text: &str) -> Result<Coverage, ParseError> {
    const FORMAT: &str = "lcov";
    let mut lines = Lines::default();
    // Per file: the largest LF and LH of its records without DA lines.
    let mut summaries: HashMap<String, (u64, u64)> = HashMap::new();
    let mut records = 0usize;
    // The open record: its file, whether it had DA lines, its LF and LH.
    let mut current: Option<(String, bool, Option<u64>, Option<u64>)> = None;

    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = || format!("line {}", n + 1);
        if line.is_empty() {
            continue;
        }
        if line == "end_of_record" {
            let Some((path, had_da, lf, lh)) = current.take() else {
                return Err(ParseError::new(
                    FORMAT,
                    format!("end_of_record without SF: at {}", at()),
                ));
            };
            if !had_da {
                if let (Some(lf), Some(lh)) = (lf, lh) {
                    let s = summaries.entry(path.clone()).or_default();
                    s.0 = s.0.max(lf);
                    s.1 = s.1.max(lh.min(lf));
                }
                lines.file(&path);
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(ParseError::new(
                FORMAT,
                format!("not an LCOV line at {}: {}", at(), excerpt(line)),
            ));
        };
        match key {
            "SF" => {
                if let Some((path, ..)) = &current {
                    return Err(ParseError::new(
                        FORMAT,
                        format!(
                            "SF: at {} inside the record of {path} (no end_of_record)",
                            at()
                        ),
                    ));
                }
                let path = value.trim();
                if path.is_empty() {
                    return Err(ParseError::new(FORMAT, format!("empty SF: at {}", at())));
                }
                records += 1;
                current = Some((path.to_string(), false, None, None));
            }
            "DA" => {
                let Some((path, had_da, ..)) = current.as_mut() else {
                    return Err(ParseError::new(
                        FORMAT,
                        format!("DA: outside a record at {}", at()),
                    ));
                };
                let mut parts = value.split(',');
                let number = parts.next().and_then(|l| l.trim().parse::<u64>().ok());
                let hits = parts.next().and_then(|h| h.trim().parse::<f64>().ok());
                let (Some(number), Some(hits)) = (number, hits) else {
                    return Err(ParseError::new(
                        FORMAT,
                        format!("malformed DA: at {}: {}", at(), excerpt(line)),
                    ));
                };
                *had_da = true;
                let path = path.clone();
                lines.hit(&path, number, hits > 0.0);
            }
            "LF" | "LH" => {
                let Some((_, _, lf, lh)) = current.as_mut() else {
                    return Err(ParseError::new(
                        FORMAT,
                        format!("{key}: outside a record at {}", at()),
                    ));
                };
                let v = value.trim().parse::<u64>().map_err(|_| {
                    ParseError::new(
                        FORMAT,
                        format!("malformed {key}: at {}: {}", at(), excerpt(line)),
                    )
                })?;
                if key == "LF" {
                    *lf = Some(v);
                } else {
                    *lh = Some(v);
                }
            }
            // Known keys this count does not use.
            "TN" | "FN" | "FNL" | "FNA" | "FNDA" | "FNF" | "FNH" | "BRDA" | "BRF" | "BRH"
            | "VER" => {}
            _ if key.chars().all(|c| c.is_ascii_uppercase()) && !key.is_empty() => {}
            _ => {
                return Err(ParseError::new(
                    FORMAT,
                    format!("not an LCOV line at {}: {}", at(), excerpt(line)),
                ))
            }
        }
    }
    if let Some((path, ..)) = current {
        return Err(ParseError::new(
            FORMAT,
            format!("truncated: the record of {path} has no end_of_record"),
        ));
    }
    if records == 0 {
        return Err(ParseError::new(
            FORMAT,
            "no SF: record (empty or not an LCOV tracefile)",
        ));
    }
    Ok(build(lines, &summaries))
}

/// Reads a Cobertura XML report: each `<class filename>`'s `<lines><line number hits>`, a
/// line being covered when `hits` is above zero. Several classes of one file (and repeated
/// lines) are merged; the lines under `<methods>` repeat the class's and are not read. Paths
/// are the `filename` attributes, relative to the report's `<source>`.
///
/// When the report has no per-line data at all, the root's `lines-covered` and `lines-valid`
/// give the totals (with no files).
pub fn cobertura(xml_text: &str) -> Result<Coverage, ParseError> {
    const FORMAT: &str = "cobertura";
    let root = xml::parse(xml_text, FORMAT)?;
    if root.name != "coverage" {
        return Err(ParseError::new(
            FORMAT,
            format!("the root element is <{}>, not <coverage>", root.name),
        ));
    }
    let mut lines = Lines::default();
    let mut classes = 0usize;
    let mut stack = vec![&root];
    // Depth-first, children in document order.
    while let Some(e) = stack.pop() {
        if e.name == "class" {
            classes += 1;
            let path = e.attr("filename").or(e.attr("name")).unwrap_or("").trim();
            lines.file(path);
            for line in e
                .children_named("lines")
                .flat_map(|l| l.children_named("line"))
            {
                let number = line
                    .attr("number")
                    .and_then(|n| n.trim().parse::<u64>().ok());
                let hits = line.attr("hits").and_then(|h| h.trim().parse::<f64>().ok());
                let (Some(number), Some(hits)) = (number, hits) else {
                    return Err(ParseError::new(
                        FORMAT,
                        format!("a <line> of {path} without a number or hits"),
                    ));
                };
                lines.hit(path, number, hits > 0.0);
            }
            continue;
        }
        stack.extend(e.children.iter().rev());
    }
    if classes == 0 {
        let total = root
            .attr("lines-valid")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let covered = root
            .attr("lines-covered")
            .and_then(|v| v.trim().parse::<u64>().ok());
        return match (total, covered) {
            (Some(total), Some(covered)) => Ok(Coverage {
                lines_covered: covered.min(total),
                lines_total: total,
                files: Vec::new(),
            }),
            _ => Err(ParseError::new(
                FORMAT,
                "no <class> elements and no lines-valid/lines-covered on <coverage>",
            )),
        };
    }
    Ok(build(lines, &HashMap::new()))
}

fn build(lines: Lines, summaries: &HashMap<String, (u64, u64)>) -> Coverage {
    let mut coverage = Coverage::default();
    for path in lines.order {
        let (covered, total) = match lines.lines.get(&path) {
            Some(l) if !l.is_empty() => (l.values().filter(|&&c| c).count() as u64, l.len() as u64),
            _ => summaries.get(&path).map_or((0, 0), |&(lf, lh)| (lh, lf)),
        };
        coverage.lines_covered += covered;
        coverage.lines_total += total;
        let uncovered = lines.lines.get(&path).map(ranges).unwrap_or_default();
        coverage.files.push(FileCoverage {
            path,
            lines_covered: covered,
            lines_total: total,
            uncovered,
        });
    }
    coverage
}

/// The uncovered lines as ranges: consecutive instrumented lines that are all uncovered make
/// one range (lines in between that are not instrumented do not break it).
fn ranges(lines: &BTreeMap<u64, bool>) -> Vec<[u64; 2]> {
    let mut out: Vec<[u64; 2]> = Vec::new();
    let mut open = false;
    for (&n, &covered) in lines {
        match (covered, open) {
            (true, _) => open = false,
            (false, true) => {
                if let Some(last) = out.last_mut() {
                    last[1] = n;
                }
            }
            (false, false) => {
                out.push([n, n]);
                open = true;
            }
        }
    }
    out
}

/// The start of a line, for error messages about input that may be binary garbage.
fn excerpt(line: &str) -> String {
    let mut s: String = line.chars().take(60).collect();
    if s.len() < line.len() {
        s.push_str("...");
    }
    s.escape_debug().to_string()
}
