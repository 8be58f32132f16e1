//! `overlord-tui agents`: every agent adapter (`[adapters.<name>]` and the built-in ones)
//! with its CLI probed — installed or not, where, its version — the roles that use it, and the
//! configuration's problems.

use std::path::PathBuf;

use super::output::{print_json, Failed, Outcome, JSON_SCHEMA_VERSION};
use super::session::{load_config_warning, workspace};
use crate::agent::adapter::{resolve, AdapterSpec};
use crate::config::Config;
use crate::protocol::model::Role;
use crate::runtime::adapters::{probe, Probe};
use crate::workspace::Workspace;

/// One adapter's line: its spec, what probing its CLI found, and the roles that use it.
type Row<'a> = (&'a AdapterSpec, Probe, Vec<&'a str>);

/// `agents`: every adapter with its CLI probed (in parallel: each version command may take
/// up to its time limit), the roles that use it, and the configuration's problems.
pub(super) fn agents(repo: &Option<PathBuf>, json: bool) -> Outcome {
    let mut warnings = Vec::new();
    let config = adapters_config(repo, &mut warnings)?;
    let (specs, errors) = resolve(&config.adapters);
    for e in &errors {
        eprintln!("warning: {e}");
    }
    warnings.extend(errors);
    let roles: Vec<(Role, String)> = Role::ALL
        .into_iter()
        .filter(|r| *r != Role::Human)
        .map(|r| (r, config.roles.get(r).adapter.trim().to_string()))
        .collect();
    check_roles(&config, &specs, &roles, &mut warnings);
    let support = crate::runtime::sandbox::probe();
    if let Some(w) = crate::runtime::sandbox::standing_warning(&config, &support) {
        eprintln!("warning: {w}");
        warnings.push(w);
    }
    let probes = probe_all(&specs);
    let rows: Vec<Row> = specs
        .iter()
        .zip(probes)
        .map(|(spec, p)| {
            let used_by: Vec<&str> = roles
                .iter()
                .filter(|(_, a)| a == &spec.name)
                .map(|(r, _)| r.as_str())
                .collect();
            (spec, p, used_by)
        })
        .collect();
    let sandbox = sandbox_summary(&config, &support);
    if json {
        return print_rows_json(&rows, &warnings, &sandbox);
    }
    print_rows(&rows)?;
    println!("sandbox: {sandbox}");
    Ok(())
}

/// How agents run: confined by Landlock, or unconfined and why.
fn sandbox_summary(config: &Config, support: &crate::runtime::sandbox::Support) -> String {
    use crate::config::SandboxMode;
    use crate::runtime::sandbox::Support;
    match (config.agents.sandbox, support) {
        (SandboxMode::Off, _) => "off — agents run unconfined ([agents] sandbox = \"off\")".into(),
        (_, Support::Available { net }) => format!(
            "agents run confined by Landlock ({}){}",
            if config.agents.sandbox == SandboxMode::Enforce {
                "enforce"
            } else {
                "best_effort"
            },
            match (config.agents.sandbox_net_ports.is_empty(), net) {
                (true, _) => String::new(),
                (false, true) => format!(
                    ", outgoing TCP to ports {:?} only",
                    config.agents.sandbox_net_ports
                ),
                (false, false) =>
                    ", but this kernel cannot limit the network (Landlock ABI < 4)".into(),
            }
        ),
        (SandboxMode::Enforce, Support::Unavailable(_)) => {
            "enforce — no agent is started (no Landlock)".into()
        }
        (SandboxMode::BestEffort, Support::Unavailable(_)) => {
            "best_effort — agents run unconfined (no Landlock)".into()
        }
    }
}

/// The configuration the adapters come from. An explicit --repo must be a repository; run
/// anywhere else, the built-in adapters.
fn adapters_config(repo: &Option<PathBuf>, warnings: &mut Vec<String>) -> Result<Config, Failed> {
    let ws = match repo {
        Some(_) => Some(workspace(repo)?),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| Workspace::discover(&d).ok()),
    };
    Ok(match ws {
        Some(ws) => {
            let (config, warning) = load_config_warning(&ws);
            warnings.extend(warning);
            config
        }
        None => {
            let w = "not in a git repository: showing the built-in adapters".to_string();
            eprintln!("warning: {w}");
            warnings.push(w);
            Config::default()
        }
    })
}

/// A warning for each role whose adapter is not one.
fn check_roles(
    config: &Config,
    specs: &[AdapterSpec],
    roles: &[(Role, String)],
    warnings: &mut Vec<String>,
) {
    for (role, adapter) in roles {
        // A misconfigured adapter already has its warning.
        let configured = config.adapters.contains_key(adapter);
        if !specs.iter().any(|s| &s.name == adapter) && !configured {
            let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            let w = format!(
                "[roles.{}] adapter = \"{adapter}\" is not an adapter (adapters: {})",
                role.as_str(),
                known.join(", ")
            );
            eprintln!("warning: {w}");
            warnings.push(w);
        }
    }
}

/// Every adapter's CLI probed, in parallel.
fn probe_all(specs: &[AdapterSpec]) -> Vec<Probe> {
    let self_exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("overlord-tui"));
    std::thread::scope(|scope| {
        let handles: Vec<_> = specs
            .iter()
            .map(|s| scope.spawn(|| probe(s, &self_exe)))
            .collect();
        handles
            .into_iter()
            .zip(specs)
            .map(|(h, s)| {
                h.join().unwrap_or_else(|_| Probe {
                    name: s.name.clone(),
                    kind: s.kind,
                    program: s.program().to_string(),
                    path: None,
                    installed: false,
                    version: None,
                    error: Some("probing it failed".into()),
                })
            })
            .collect()
    })
}

fn print_rows_json(rows: &[Row], warnings: &[String], sandbox: &str) -> Outcome {
    let adapters: Vec<serde_json::Value> = rows
        .iter()
        .map(|(spec, p, used_by)| {
            serde_json::json!({
                "name": p.name,
                "kind": p.kind.as_str(),
                "program": p.program,
                "installed": p.installed,
                "path": p.path.as_ref().map(|x| x.display().to_string()),
                "version": p.version,
                "error": p.error,
                "model": spec.model,
                "roles": used_by,
                "preset": spec.preset.map(|p| p.name),
                "args": spec.args,
                "install": install(spec, p),
            })
        })
        .collect();
    print_json(&serde_json::json!({
        "schema_version": JSON_SCHEMA_VERSION,
        "adapters": adapters,
        "warnings": warnings,
        "sandbox": sandbox,
    }))
}

/// The command that installs a CLI that is not installed (an `acp` preset's npm package,
/// a built-in CLI's package).
fn install(spec: &AdapterSpec, p: &Probe) -> Option<String> {
    if p.installed {
        return None;
    }
    crate::agent::acp_preset::install_hint(spec.kind, spec.preset)
}

/// One line per adapter: name, kind, version and path (or why not, and how to install it),
/// roles.
fn print_rows(rows: &[Row]) -> Outcome {
    let width = rows.iter().map(|(_, p, _)| p.name.len()).max().unwrap_or(0);
    for (spec, p, used_by) in rows {
        let mut state = match (&p.path, &p.version, &p.error) {
            (Some(path), Some(v), _) => format!("{v}  ({})", path.display()),
            (Some(path), None, Some(e)) => format!("installed at {}, but {e}", path.display()),
            (Some(path), None, None) => {
                format!("installed, no version command  ({})", path.display())
            }
            (_, _, Some(e)) if !p.installed => e.clone(),
            _ => "not installed".to_string(),
        };
        if let Some(cmd) = install(spec, p) {
            state.push_str(&format!(" — install: {cmd}"));
        }
        if spec.kind == crate::agent::adapter::AdapterKind::Acp {
            // What the client starts: `gemini --acp`.
            let line = std::iter::once(spec.binary.as_str())
                .chain(spec.args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            state.push_str(&format!("  [acp: {line}]"));
        }
        let roles = if used_by.is_empty() {
            String::new()
        } else {
            format!("  roles: {}", used_by.join(", "))
        };
        println!("{:<width$}  {:<8}  {state}{roles}", p.name, p.kind.as_str());
    }
    Ok(())
}
