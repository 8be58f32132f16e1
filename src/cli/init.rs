//! `overlord-tui init`: set Overlord up in a repository (`.overlord/`: store, config, QA
//! policy), with a commented adapter section in the new configuration for each agent CLI
//! found installed on `PATH`.

use std::path::{Path, PathBuf};

use super::output::{fail, print_json, Outcome};
use super::session::workspace;
use crate::agent::adapter::AdapterKind;
use crate::runtime::adapters::find_program;

/// The agent CLIs `init` looks for, by kind and usual program name.
const CLIS: [(AdapterKind, &str); 4] = [
    (AdapterKind::Codex, "codex"),
    (AdapterKind::Claude, "claude"),
    (AdapterKind::Gemini, "gemini"),
    (AdapterKind::Aider, "aider"),
];

pub(super) fn init(repo: &Option<PathBuf>, json: bool) -> Outcome {
    let ws = workspace(repo)?;
    let report = ws.init().map_err(fail)?;
    let found = add_adapter_sections(&ws, &report).map_err(fail)?;
    if json {
        let mut value = serde_json::to_value(&report).map_err(fail)?;
        value["agent_clis"] = found
            .iter()
            .map(|(k, p)| serde_json::json!({"kind": k.as_str(), "path": p.display().to_string()}))
            .collect();
        return print_json(&value);
    }
    if report.already_initialized && report.created.is_empty() {
        println!("Overlord is already set up in {}", report.root);
    } else {
        println!("Overlord set up in {}", report.root);
        for c in &report.created {
            println!("  created {c}");
        }
        for (kind, path) in &found {
            println!(
                "  found {kind} ({}): its commented [adapters.{kind}] section is in .overlord/config.toml",
                path.display()
            );
        }
        if found.is_empty() {
            println!(
                "  no agent CLI found on PATH (codex, claude, gemini, aider): see docs/adapters.md"
            );
        }
        println!("Next: overlord-tui plan import PLAN.json, then overlord-tui status");
        println!(
            "Discord (optional): fill in the commented [discord] section of .overlord/config.toml, then overlord-tui discord --check"
        );
    }
    Ok(())
}

/// The agent CLIs on `PATH`; when `init` just wrote the configuration, their commented
/// sections are added to it (the user's own configuration is left alone). Also for the
/// console's first-run set-up.
pub(super) fn add_adapter_sections(
    ws: &crate::workspace::Workspace,
    report: &crate::workspace::InitReport,
) -> Result<Vec<(AdapterKind, PathBuf)>, String> {
    let found: Vec<(AdapterKind, PathBuf)> = CLIS
        .iter()
        .filter_map(|(kind, name)| find_program(name).map(|p| (*kind, p)))
        .collect();
    if report.created.iter().any(|c| c == ".overlord/config.toml") && !found.is_empty() {
        append(&ws.config_path(), &adapter_sections(&found))?;
    }
    Ok(found)
}

fn append(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The commented `[adapters.<kind>]` sections of the CLIs found, each with the keys worth
/// changing first (model, the endpoint, prices where the CLI reports no cost).
pub fn adapter_sections(found: &[(AdapterKind, PathBuf)]) -> String {
    let mut out = String::from(
        "\n# Agent CLIs found on PATH by `overlord-tui init` (docs/adapters.md). Each works as it is;\n\
         # uncomment a section to change it. base_url and api_key_env point a CLI at another model\n\
         # API (a local OpenAI-compatible server, a gateway); the key stays in your environment.\n",
    );
    for (kind, path) in found {
        let (api, example) = match kind {
            AdapterKind::Codex => ("OpenAI Responses API", "http://127.0.0.1:8080/v1"),
            AdapterKind::Claude => ("Anthropic Messages API", "http://127.0.0.1:8080"),
            AdapterKind::Gemini => ("Gemini API", "http://127.0.0.1:8080"),
            _ => ("OpenAI-compatible API", "http://127.0.0.1:8080/v1"),
        };
        out.push_str(&format!(
            "#\n# [adapters.{kind}]                  # found: {}\n\
             # model = \"\"                        # empty: the CLI's default\n\
             # base_url = \"\"                     # e.g. \"{example}\" ({api})\n\
             # api_key_env = \"\"                  # e.g. \"LOCAL_LLM_KEY\": the variable holding its key\n",
            path.display()
        ));
        if matches!(kind, AdapterKind::Codex | AdapterKind::Gemini) {
            out.push_str(&format!(
                "# [adapters.{kind}.prices]           # USD per million tokens ({kind} reports no cost)\n\
                 # input_per_mtok = 1.25\n\
                 # output_per_mtok = 10.0\n\
                 # cached_input_per_mtok = 0.125\n"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::agent::adapter::AdapterKind;
    use crate::cli::init::adapter_sections;

    #[test]
    fn every_line_of_the_sections_is_a_comment_that_parses_once_uncommented() {
        let found = [
            (AdapterKind::Codex, PathBuf::from("/opt/bin/codex")),
            (AdapterKind::Aider, PathBuf::from("/opt/bin/aider")),
        ];
        let text = adapter_sections(&found);
        assert!(text.lines().all(|l| l.is_empty() || l.starts_with('#')));
        assert!(text.contains("[adapters.codex]                  # found: /opt/bin/codex"));
        assert!(!text.contains("[adapters.aider.prices]"));
        // Uncommented, the sections are a valid configuration.
        let uncommented: String = text
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.starts_with('[') || l.contains(" = "))
            .map(|l| format!("{l}\n"))
            .collect();
        let config: crate::config::Config = toml::from_str(&uncommented).unwrap();
        assert_eq!(config.adapters.len(), 2);
    }
}
