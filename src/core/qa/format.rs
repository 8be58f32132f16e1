//! How a gate's results are read: the formats of the tools' output, and which gates each
//! one can measure.

use serde::{Deserialize, Serialize};

/// How a gate's results are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Libtest,
    Junit,
    Tap,
    /// The command's exit status is the one result (a user's own script).
    Exit,
    /// cargo's `--message-format=json` (build).
    Cargo,
    Clippy,
    Eslint,
    Ruff,
    Lcov,
    Cobertura,
    /// JavaScript test runners, read from the reports the QA hook made them write (Jest and
    /// Vitest JSON, mocha's xunit, `node --test`'s JUnit, ava's TAP), else TAP on stdout.
    Node,
    /// `biome lint --reporter=json`.
    Biome,
    /// `oxlint -f json`.
    Oxlint,
    /// `tsc --noEmit --pretty false` alone.
    Tsc,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s.trim() {
            "libtest" => Format::Libtest,
            "junit" => Format::Junit,
            "tap" => Format::Tap,
            "exit" => Format::Exit,
            "cargo" => Format::Cargo,
            "clippy" => Format::Clippy,
            "eslint" => Format::Eslint,
            "ruff" => Format::Ruff,
            "lcov" => Format::Lcov,
            "cobertura" => Format::Cobertura,
            "node" => Format::Node,
            "biome" => Format::Biome,
            "oxlint" => Format::Oxlint,
            "tsc" => Format::Tsc,
            _ => return None,
        })
    }

    pub(super) fn allowed(gate: &str) -> &'static [&'static str] {
        match gate {
            "build" => &["cargo", "exit"],
            "tests" | "e2e" => &["libtest", "junit", "tap", "node", "exit"],
            "lint" => &["clippy", "eslint", "ruff", "biome", "oxlint", "tsc"],
            "coverage" => &["lcov", "cobertura"],
            _ => &[],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Libtest => "libtest",
            Format::Junit => "junit",
            Format::Tap => "tap",
            Format::Exit => "exit",
            Format::Cargo => "cargo",
            Format::Clippy => "clippy",
            Format::Eslint => "eslint",
            Format::Ruff => "ruff",
            Format::Lcov => "lcov",
            Format::Cobertura => "cobertura",
            Format::Node => "node",
            Format::Biome => "biome",
            Format::Oxlint => "oxlint",
            Format::Tsc => "tsc",
        }
    }
}
