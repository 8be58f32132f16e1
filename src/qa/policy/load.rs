//! Loading the policy file: reading it from disk (a missing file gives the default policy and
//! a warning; bytes that are not UTF-8 are refused) and parsing its text — the YAML tree, then
//! the sections — into a [`Policy`] or every problem found.

use std::path::Path;

use super::error::PolicyError;
use super::model::Policy;
use super::validate::Reader;
use super::yaml::{read_tree, Pos};

/// The policy's file name inside `.overlord/`.
pub const FILE_NAME: &str = "QA_POLICY.yaml";

/// Loads the policy at `path`, naming it by its path in errors. See [`load_as`].
pub fn load(path: &Path) -> Result<(Policy, Option<String>), Vec<PolicyError>> {
    load_as(path, &path.display().to_string())
}

/// Loads the policy at `path`, naming it `shown` in errors. A missing file gives the default
/// policy and a warning to show; a file that cannot be read or is malformed gives every
/// problem found, and the caller should refuse to run.
pub fn load_as(path: &Path, shown: &str) -> Result<(Policy, Option<String>), Vec<PolicyError>> {
    let whole_file = |message: String| {
        vec![PolicyError {
            file: shown.to_string(),
            line: 0,
            column: 0,
            message,
        }]
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let warning = format!("{FILE_NAME} not found at {shown}; using the default policy");
            return Ok((Policy::default(), Some(warning)));
        }
        Err(e) => return Err(whole_file(format!("cannot be read: {e}"))),
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let before = String::from_utf8_lossy(&e.as_bytes()[..valid]);
            let (line, column) = crate::config::line_col(&before, before.len());
            return Err(vec![PolicyError {
                file: shown.to_string(),
                line,
                column,
                message: "the file is not UTF-8 text".into(),
            }]);
        }
    };
    parse(&text, shown).map(|p| (p, None))
}

/// Reads a policy from `text`; `file` names it in the errors. Returns every problem found,
/// sorted by position.
pub fn parse(text: &str, file: &str) -> Result<Policy, Vec<PolicyError>> {
    let (line, column) = crate::config::line_col(text, text.len());
    let mut reader = Reader {
        file,
        end: Pos { line, column },
        errors: Vec::new(),
    };
    let root = match read_tree(text) {
        Ok((root, extra)) => {
            if let Some(p) = extra {
                reader.error(p.pos, p.message);
            }
            root
        }
        Err(p) => {
            reader.error(p.pos, p.message);
            return Err(reader.errors);
        }
    };
    let policy = reader.policy(root.as_ref());
    if reader.errors.is_empty() {
        Ok(policy)
    } else {
        reader.errors.sort_by_key(|e| (e.line, e.column));
        Err(reader.errors)
    }
}
