//! The `acp` presets (`gemini-acp`, `claude-acp`, `codex-acp`): what a preset adapter runs,
//! `overlord-tui agents` showing each installed or not (with its version, or the npm command
//! that installs it), a bad preset configuration reported by name, and `init` offering the
//! sections of the ACP agents it finds. Real `overlord-tui` processes with fake agent
//! programs on a temporary `PATH`.

use std::path::Path;

use overlord::agent::adapter::{resolve, AdapterKind, AdapterSpec, Turn};
use overlord::config::Config;
use serde_json::Value;

use crate::common::*;

/// An executable shell script.
fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A `PATH` with `bin` first and only the system folders after it (sh, git).
fn path_with(bin: &Path) -> String {
    format!("{}:/usr/bin:/bin", bin.display())
}

/// Whether `program` is somewhere on the system folders of [`path_with`].
fn on_system(program: &str) -> bool {
    ["/usr/bin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(program).exists())
}

fn spec(name: &str, toml_text: &str) -> Result<AdapterSpec, String> {
    let config: Config = toml::from_str(toml_text).unwrap();
    let c = config.adapters.get(name).cloned().unwrap_or_default();
    AdapterSpec::from_config(name, &c)
}

#[test]
fn a_preset_adapter_starts_its_agent_in_acp_mode_with_its_model_and_endpoint() {
    // Built in: nothing configured.
    let (specs, errors) = resolve(&Default::default());
    assert!(errors.is_empty(), "{errors:?}");
    let g = specs.iter().find(|s| s.name == "gemini-acp").unwrap();
    assert_eq!(g.kind, AdapterKind::Acp);
    assert_eq!(
        (g.binary.as_str(), g.args.as_slice()),
        ("gemini", &["--acp".to_string()][..])
    );
    assert_eq!(g.state_dirs, ["~/.gemini/"]);
    let c = specs.iter().find(|s| s.name == "claude-acp").unwrap();
    assert_eq!(c.binary, "claude-agent-acp");
    assert_eq!(c.state_dirs, ["~/.claude/", "~/.claude.json"]);
    let x = specs.iter().find(|s| s.name == "codex-acp").unwrap();
    assert_eq!(
        (x.binary.as_str(), x.state_dirs.as_slice()),
        ("codex-acp", &["~/.codex/".to_string()][..])
    );

    // Another name with `preset`, a model and an endpoint: given the way Gemini CLI takes them.
    let g = spec(
        "mine",
        r#"[adapters.mine]
preset = "gemini"
model = "flash"
args = ["--debug"]
base_url = "http://127.0.0.1:9/"
api_key_env = "MY_KEY"
"#,
    )
    .unwrap();
    assert_eq!(g.kind, AdapterKind::Acp);
    assert_eq!(g.state_dirs, ["~/.local/state/overlord-tui/gemini/mine/"]);
    let wt = Path::new("/work/tree");
    let turn = Turn {
        prompt: "do it",
        resume: None,
        workdir: wt,
        files: &[],
    };
    let inv = g.invocation(&turn, Path::new("/bin/overlord-tui"));
    assert_eq!(inv.program, "/bin/overlord-tui");
    let dashdash = inv.args.iter().position(|a| a == "--").unwrap();
    assert_eq!(
        inv.args[dashdash + 1..],
        ["gemini", "--acp", "--debug", "-m", "flash"]
    );
    assert!(inv.env.contains(&(
        "GOOGLE_GEMINI_BASE_URL".into(),
        "http://127.0.0.1:9/".into()
    )));
    // The API key is copied at spawn into Gemini's variable; its home gets API-key settings.
    let key = g
        .endpoint
        .key_env(g.endpoint_kind(), &g.name, |v| {
            (v == "MY_KEY").then(|| "sk-test".to_string())
        })
        .unwrap();
    assert_eq!(key, [("GEMINI_API_KEY".to_string(), "sk-test".to_string())]);
    let settings = g.endpoint.gemini_settings(g.endpoint_kind()).unwrap();
    assert!(settings.contains("gemini-api-key"), "{settings}");

    // Claude: the model in ANTHROPIC_MODEL, the endpoint in ANTHROPIC_BASE_URL; `args` that
    // repeat the preset's are not doubled.
    let c = spec(
        "claude-acp",
        "[adapters.claude-acp]\nmodel = \"opus\"\nbase_url = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    let inv = c.invocation(&turn, Path::new("/bin/overlord-tui"));
    assert_eq!(inv.args.last().unwrap(), "claude-agent-acp");
    assert!(inv.env.contains(&("ANTHROPIC_MODEL".into(), "opus".into())));
    assert!(inv
        .env
        .contains(&("ANTHROPIC_BASE_URL".into(), "http://127.0.0.1:9".into())));
    // codex-acp: codex's `-c` overrides, a model provider of the adapter's own.
    let x = spec(
        "codex-acp",
        "[adapters.codex-acp]\nmodel = \"qwen\"\nbase_url = \"http://127.0.0.1:9/v1\"\napi_key_env = \"LOCAL_KEY\"\n",
    )
    .unwrap();
    let inv = x.invocation(&turn, Path::new("/bin/overlord-tui"));
    let dashdash = inv.args.iter().position(|a| a == "--").unwrap();
    let agent = inv.args[dashdash + 1..].join(" ");
    assert!(
        agent.starts_with("codex-acp -c model_provider=\"overlord_codex_acp\""),
        "{agent}"
    );
    assert!(
        agent.contains("-c model_providers.overlord_codex_acp.base_url=\"http://127.0.0.1:9/v1\"")
            && agent.contains("-c model_providers.overlord_codex_acp.env_key=\"LOCAL_KEY\"")
            && agent.ends_with("-c model=\"qwen\""),
        "{agent}"
    );
    assert!(x.version_args.is_empty(), "codex-acp has no --version");
    let g = spec(
        "gemini-acp",
        "[adapters.gemini-acp]\nargs = [\"--acp\", \"-d\"]\n",
    )
    .unwrap();
    assert_eq!(g.args, ["--acp", "-d"]);
    // `kind = "acp"` spelled out with a binary: no preset, as before.
    let plain = spec(
        "gemini-acp",
        "[adapters.gemini-acp]\nkind = \"acp\"\nbinary = \"gemini\"\nargs = [\"--acp\"]\n",
    )
    .unwrap();
    assert_eq!(
        (plain.preset, plain.args.as_slice()),
        (None, &["--acp".to_string()][..])
    );
}

#[test]
fn a_bad_preset_configuration_is_an_error_naming_the_adapter() {
    let cases = [
        (
            "x",
            "[adapters.x]\nkind = \"acp\"\npreset = \"goose\"\n",
            "[adapters.x] preset: unknown acp preset 'goose' (presets: gemini-acp, claude-acp, codex-acp)",
        ),
        (
            "y",
            "[adapters.y]\nkind = \"codex\"\npreset = \"gemini\"\n",
            "[adapters.y] preset is for acp adapters",
        ),
        (
            "codex-acp",
            "[adapters.codex-acp]\nbase_url = \"ftp://127.0.0.1:9\"\n",
            "[adapters.codex-acp] base_url",
        ),
        (
            "z",
            "[adapters.z]\nkind = \"acp\"\nbinary = \"agent\"\nmodel = \"m\"\n",
            "an acp agent without a preset takes no model",
        ),
        (
            "w",
            "[adapters.w]\nkind = \"acp\"\n",
            "or preset = \"gemini-acp\" | \"claude-acp\" | \"codex-acp\"",
        ),
    ];
    for (name, text, wanted) in cases {
        let err = spec(name, text).unwrap_err();
        assert!(err.contains(wanted), "{text}: {err}");
    }
}

#[test]
fn agents_shows_each_preset_installed_or_how_to_install_it() {
    let repo = Repo::new();
    assert!(repo.run(&["init"]).status.success());
    repo.write(
        ".overlord/config.toml",
        r#"
[roles.tester]
adapter = "gemini-acp"

[adapters.my-claude]
preset = "claude-agent-acp"
binary = "my-claude-acp"

[adapters.broken]
kind = "acp"
preset = "goose"
"#,
    );
    let bin = tempfile::tempdir().unwrap();
    // Answers the version command only (not `--acp`: that is for a run).
    script(
        &bin.path().join("gemini"),
        "[ \"$1\" = --version ] && [ $# = 1 ] && { echo 0.61.0-fake; exit 0; }; exit 3",
    );
    script(&bin.path().join("my-claude-acp"), "echo 0.101.0");
    // codex-acp answers no --version (it would fail): it is not asked.
    script(&bin.path().join("codex-acp"), "exit 2");
    let path = path_with(bin.path());
    let o = repo.run_env(&["agents", "--json"], &[("PATH", &path)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let adapters = v["adapters"].as_array().unwrap();
    let row = |n: &str| {
        adapters
            .iter()
            .find(|a| a["name"] == n)
            .unwrap_or_else(|| panic!("no {n}: {v:#}"))
            .clone()
    };
    let g = row("gemini-acp");
    assert_eq!(
        (
            &g["kind"],
            &g["preset"],
            &g["program"],
            &g["installed"],
            &g["version"]
        ),
        (
            &Value::from("acp"),
            &Value::from("gemini-acp"),
            &Value::from("gemini"),
            &Value::from(true),
            &Value::from("0.61.0-fake")
        ),
        "{g:#}"
    );
    assert_eq!(g["args"], serde_json::json!(["--acp"]));
    assert_eq!(g["install"], Value::Null);
    assert_eq!(g["roles"], serde_json::json!(["tester"]));
    let mine = row("my-claude");
    assert_eq!(
        (&mine["preset"], &mine["installed"]),
        (&Value::from("claude-acp"), &Value::from(true))
    );
    assert_eq!(mine["version"], "0.101.0");
    if !on_system("claude-agent-acp") {
        let c = row("claude-acp");
        assert_eq!(c["installed"], false, "{c:#}");
        assert_eq!(
            c["install"],
            "npm install -g @agentclientprotocol/claude-agent-acp"
        );
        assert!(
            c["error"].as_str().unwrap().contains("not installed"),
            "{c:#}"
        );
    }
    let x = row("codex-acp");
    assert_eq!(
        (&x["installed"], &x["version"], &x["error"], &x["install"]),
        (&Value::from(true), &Value::Null, &Value::Null, &Value::Null),
        "{x:#}"
    );
    assert!(adapters.iter().all(|a| a["name"] != "broken"));
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("[adapters.broken] preset: unknown acp preset 'goose' (presets: gemini-acp, claude-acp, codex-acp)"),
        "{warnings}"
    );

    // The text form: the version and what the client starts, or the install command.
    let o = repo.run_env(&["agents"], &[("PATH", &path)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let line = |n: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(n))
            .unwrap_or_else(|| panic!("no {n}: {out}"))
            .to_string()
    };
    let g = line("gemini-acp");
    assert!(
        g.contains("0.61.0-fake") && g.contains("[acp: gemini --acp]"),
        "{g}"
    );
    assert!(
        line("codex-acp").contains("installed, no version command"),
        "{out}"
    );
    if !on_system("claude-agent-acp") {
        let c = line("claude-acp");
        assert!(
            c.contains("not installed")
                && c.contains("install: npm install -g @agentclientprotocol/claude-agent-acp"),
            "{c}"
        );
    }
    assert!(
        stderr(&o).contains("warning: [adapters.broken]"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn init_offers_the_section_of_each_acp_agent_it_finds() {
    let repo = Repo::new();
    let bin = tempfile::tempdir().unwrap();
    script(&bin.path().join("gemini"), "echo 0.61.0");
    script(&bin.path().join("codex-acp"), "echo 0.16.0");
    let path = path_with(bin.path());
    let o = repo.run_env(&["init"], &[("PATH", &path)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("adapter gemini-acp runs `gemini --acp` over the Agent Client Protocol"),
        "{out}"
    );
    assert!(out.contains("adapter codex-acp runs `codex-acp`"), "{out}");
    let config = std::fs::read_to_string(repo.path().join(".overlord/config.toml")).unwrap();
    assert!(config.contains("# [adapters.gemini-acp]  "), "{config}");
    assert!(
        config.contains("# [adapters.gemini-acp.permissions]"),
        "{config}"
    );
    assert!(config.contains("# [adapters.codex-acp]  "), "{config}");
    if !on_system("claude-agent-acp") {
        assert!(!config.contains("# [adapters.claude-acp]"), "{config}");
    }
    // As written, the configuration loads and every preset is there.
    let o = repo.run_env(&["agents", "--json"], &[("PATH", &path)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["warnings"], serde_json::json!([]), "{v:#}");
    assert_eq!(
        v["adapters"].as_array().unwrap().len(),
        overlord::agent::adapter::BUILT_IN.len()
    );
    let o = repo.run_env(&["init", "--json"], &[("PATH", &path)]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["acp_presets"][0]["preset"], "gemini-acp", "{v:#}");
}

#[test]
fn the_preset_examples_of_the_docs_are_valid_configurations() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/adapters.md")).unwrap();
    let at = docs.find("### Presets").expect("the Presets section");
    let section = &docs[at..at + docs[at..].find("### How the client runs").unwrap()];
    let blocks: Vec<&str> = section
        .split("```toml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert_eq!(blocks.len(), 3, "{section}");
    for block in blocks {
        let config: Config = toml::from_str(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        let (_, errors) = resolve(&config.adapters);
        assert!(errors.is_empty(), "{errors:?}\n{block}");
    }
}
