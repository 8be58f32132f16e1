//! `overlord-tui init`: set Overlord up in a repository (`.overlord/`: store, config, QA
//! policy), with a commented adapter section in the new configuration for each agent CLI
//! found installed on `PATH`, and for each `acp` preset whose agent is there.

use std::path::{Path, PathBuf};

use super::output::{fail, print_json, Outcome};
use super::session::workspace;
use crate::agent::acp_preset::{AcpPreset, PRESETS};
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
        value["acp_presets"] = found_presets()
            .iter()
            .map(|(preset, p)| serde_json::json!({"preset": preset.name, "path": p.display().to_string()}))
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
        for (preset, path) in found_presets() {
            let line = std::iter::once(preset.binary)
                .chain(preset.args.iter().copied())
                .collect::<Vec<_>>()
                .join(" ");
            println!(
                "  found {} ({}): adapter {} runs `{line}` over the Agent Client Protocol; its commented section is in .overlord/config.toml",
                preset.binary,
                path.display(),
                preset.name
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
    let presets = found_presets();
    if report.created.iter().any(|c| c == ".overlord/config.toml") {
        if !found.is_empty() {
            append(&ws.config_path(), &adapter_sections(&found))?;
        }
        if !presets.is_empty() {
            append(&ws.config_path(), &acp_sections(&presets))?;
        }
    }
    Ok(found)
}

/// The `acp` presets whose agent program is on `PATH`.
fn found_presets() -> Vec<(&'static AcpPreset, PathBuf)> {
    PRESETS
        .iter()
        .filter_map(|p| find_program(p.binary).map(|path| (p, path)))
        .collect()
}

/// The commented `[adapters.<preset>]` sections of the ACP agents found: the keys the preset
/// takes and an example of the permission rules.
pub fn acp_sections(found: &[(&AcpPreset, PathBuf)]) -> String {
    let mut out = String::from(
        "\n# Agents that speak the Agent Client Protocol, found on PATH (docs/adapters.md, \"The acp\n\
         # kind\"). Each is a built-in adapter already; uncomment a section to change it. Overlord\n\
         # serves the agent's file requests inside the task's worktree only and answers its\n\
         # permission requests by the rules of [adapters.<name>.permissions].\n",
    );
    for (p, path) in found {
        out.push_str(&format!(
            "#\n# [adapters.{}]              # found: {} (needs {})\n",
            p.name,
            path.display(),
            p.needs
        ));
        out.push_str(
            "# model = \"\"                        # empty: the agent's default\n\
             # base_url = \"\"                     # another model API, as for its CLI\n\
             # api_key_env = \"\"                  # the variable holding that API's key\n",
        );
        out.push_str(&format!(
            "# [adapters.{}.permissions]\n\
             # execute = \"ask\"                   # the default; \"allow\" lets it run commands\n\
             # \"edit .github/**\" = \"deny\"\n",
            p.name
        ));
    }
    out
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

    use crate::agent::acp_preset::AcpPreset;
    use crate::agent::adapter::AdapterKind;
    use crate::cli::init::{acp_sections, adapter_sections};

    /// The commented-out sections' keys and headers, uncommented.
    fn uncomment(text: &str) -> String {
        text.lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.starts_with('[') || l.contains(" = "))
            .map(|l| format!("{l}\n"))
            .collect()
    }

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
        let uncommented = uncomment(&text);
        let config: crate::config::Config = toml::from_str(&uncommented).unwrap();
        assert_eq!(config.adapters.len(), 2);
    }

    #[test]
    fn the_acp_sections_are_comments_that_parse_into_preset_adapters() {
        let gemini = AcpPreset::named("gemini-acp").unwrap();
        let codex = AcpPreset::named("codex-acp").unwrap();
        let found = [
            (gemini, PathBuf::from("/opt/bin/gemini")),
            (codex, PathBuf::from("/opt/bin/codex-acp")),
        ];
        let text = acp_sections(&found);
        assert!(text.lines().all(|l| l.is_empty() || l.starts_with('#')));
        assert!(text.contains("# [adapters.gemini-acp]              # found: /opt/bin/gemini"));
        let uncommented = uncomment(&text);
        let config: crate::config::Config = toml::from_str(&uncommented).unwrap();
        let (specs, errors) = crate::agent::adapter::resolve(&config.adapters);
        assert!(errors.is_empty(), "{errors:?}\n{uncommented}");
        let g = specs.iter().find(|s| s.name == "gemini-acp").unwrap();
        assert_eq!(
            (g.binary.as_str(), g.args.clone()),
            ("gemini", vec!["--acp".to_string()])
        );
        assert_eq!(g.permissions.len(), 2);
    }
}
