//! The numbered ids (`C-12`, `A-3`, …) and the counters that hand them out, the timestamp
//! every record carries, and free-form metadata.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC timestamp in RFC 3339 form with milliseconds (`2026-11-21T10:02:00.000Z`).
/// Kept as text so the audit record hashes exactly what was written.
pub type Timestamp = String;

/// Defines a numbered id with a fixed prefix (`C-12`), serialized as its text form.
/// Bare numbers (`12`) are accepted when parsing, so `/ack 12` works.
macro_rules! numbered_id {
    ($name:ident, $prefix:literal, $what:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u64);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            pub const WHAT: &'static str = $what;
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}-{}", $prefix, self.0)
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let digits = s
                    .strip_prefix($prefix)
                    .or_else(|| s.strip_prefix(&$prefix.to_ascii_lowercase()))
                    .and_then(|rest| rest.strip_prefix('-'))
                    .unwrap_or(s);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "'{s}' is not a {} id (expected {}-<number>)",
                        $what, $prefix
                    ));
                }
                digits
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map($name)
                    .ok_or_else(|| format!("'{s}' is not a valid {} id", $what))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

numbered_id!(ConcernId, "C", "concern");
numbered_id!(HandoffId, "H", "handoff");
numbered_id!(VariationId, "V", "variation");
numbered_id!(ApprovalId, "A", "approval");
numbered_id!(ClarificationId, "Q", "clarification");
numbered_id!(QaRunId, "QA", "QA run");

/// Counters for ids handed out so far; part of the state so that ids never repeat.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counters {
    pub concerns: u64,
    pub handoffs: u64,
    pub variations: u64,
    pub approvals: u64,
    pub clarifications: u64,
    pub qa_runs: u64,
    #[serde(default)]
    pub operations: u64,
}

/// Free-form key/value metadata kept sorted so serialization is canonical.
pub type Meta = BTreeMap<String, String>;
