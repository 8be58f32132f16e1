//! The values of the policy's keys: booleans, percentages, whole numbers, names out of a
//! fixed set and lists of file paths, each checked and explained when it is wrong.

use std::collections::HashMap;
use std::str::FromStr;

use saphyr::ScalarOwned;

use super::validate::Reader;
use super::yaml::{describe, quoted_number_hint, Kind, Node, Pos};
use crate::protocol::model::Impact;

impl Reader<'_> {
    pub(super) fn boolean(&mut self, path: &str, v: &Node) -> Option<bool> {
        if let Kind::Scalar {
            value: ScalarOwned::Boolean(b),
            ..
        } = v.kind
        {
            return Some(b);
        }
        let mut message = format!("{path}: expected true or false, found {}", describe(v));
        match v.as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("true" | "false") => message.push_str(" — write it without quotes"),
            Some("yes" | "no" | "on" | "off" | "y" | "n") => {
                message.push_str(" — YAML 1.2 reads yes/no/on/off as text; write true or false")
            }
            _ => {}
        }
        self.error(v.pos, message);
        None
    }

    pub(super) fn percent(&mut self, path: &str, v: &Node) -> Option<f64> {
        let n = match v.kind {
            Kind::Scalar {
                value: ScalarOwned::Integer(i),
                ..
            } => Some(i as f64),
            Kind::Scalar {
                value: ScalarOwned::FloatingPoint(f),
                ..
            } => Some(f.into_inner()),
            _ => None,
        };
        if let Some(n) = n.filter(|n| (0.0..=100.0).contains(n)) {
            return Some(n);
        }
        let message = format!(
            "{path}: expected a percentage from 0 to 100, found {}{}",
            describe(v),
            quoted_number_hint(v)
        );
        self.error(v.pos, message);
        None
    }

    pub(super) fn whole(
        &mut self,
        path: &str,
        v: &Node,
        min: i64,
        max: i64,
        expected: &str,
    ) -> Option<i64> {
        if let Kind::Scalar {
            value: ScalarOwned::Integer(i),
            ..
        } = v.kind
        {
            if (min..=max).contains(&i) {
                return Some(i);
            }
        }
        let message = format!(
            "{path}: expected {expected}, found {}{}",
            describe(v),
            quoted_number_hint(v)
        );
        self.error(v.pos, message);
        None
    }

    pub(super) fn impact(&mut self, path: &str, v: &Node) -> Option<Impact> {
        self.choice::<Impact>(path, v, "low, medium or high")
    }

    /// A name out of a fixed set, parsed by `T::from_str` (whose error lists the choices).
    pub(super) fn choice<T: FromStr<Err = String>>(
        &mut self,
        path: &str,
        v: &Node,
        choices: &str,
    ) -> Option<T> {
        let result = match v.as_str() {
            Some(s) => s.parse::<T>(),
            None => Err(format!("expected {choices}, found {}", describe(v))),
        };
        match result {
            Ok(t) => Some(t),
            Err(e) => {
                self.error(v.pos, format!("{path}: {e}"));
                None
            }
        }
    }

    /// A list of file paths inside the repository, each given once.
    pub(super) fn paths(&mut self, path: &str, v: &Node) -> Option<Vec<String>> {
        let Kind::Seq(items) = &v.kind else {
            let message = format!(
                "{path}: expected a list of file paths such as [QA_REPORT.md], found {}",
                describe(v)
            );
            self.error(v.pos, message);
            return None;
        };
        let mut out = Vec::new();
        let mut first: HashMap<&str, Pos> = HashMap::new();
        let mut ok = true;
        for item in items {
            let problem = match item.as_str() {
                None => Some(format!("expected a file path, found {}", describe(item))),
                Some(s) if s.trim().is_empty() => Some("an empty path".to_string()),
                Some(s) if escapes_repository(s) => Some(format!(
                    "'{s}' must be a path inside the repository (relative, without '..')"
                )),
                Some(s) => match first.get(s) {
                    Some(at) => Some(format!(
                        "'{s}' is listed twice (first at line {}, column {})",
                        at.line, at.column
                    )),
                    None => {
                        first.insert(s, item.pos);
                        out.push(s.to_string());
                        None
                    }
                },
            };
            if let Some(problem) = problem {
                self.error(item.pos, format!("{path}: {problem}"));
                ok = false;
            }
        }
        ok.then_some(out)
    }
}

/// An absolute path, a drive or a `..` step: outside the repository.
fn escapes_repository(s: &str) -> bool {
    let b = s.as_bytes();
    s.starts_with(['/', '\\'])
        || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
        || s.split(['/', '\\']).any(|part| part == "..")
}
