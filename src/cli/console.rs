//! `overlord-tui` with no subcommand: the console (ratatui), owning the repository and
//! running the swarm like `run`; in a repository without `.overlord/` it offers `init` first.

use std::path::PathBuf;

use clap::builder::StyledStr;

use super::logging::init_logging;
use super::output::{fail, Failed, Outcome};
use super::owner::{own, stopped};
use super::session::workspace;

/// `overlord-tui` with no subcommand: the console, owning the repository and running the
/// swarm like `run`. In a repository without `.overlord/` it offers `init` first.
/// `help` is the top-level help, printed when there is no terminal for the console.
pub(super) fn console(repo: &Option<PathBuf>, help: impl FnOnce() -> StyledStr) -> Outcome {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        let help = help();
        eprintln!(
            "overlord-tui with no subcommand opens the console, which needs a terminal; headless, use a subcommand.\n\n{help}"
        );
        return Err(Failed(2));
    }
    let ws = workspace(repo)?;
    if !ws.is_initialized() {
        if !std::io::stdin().is_terminal() {
            return Err(fail(format!(
                "Overlord is not set up in {}: run `overlord-tui init` there first",
                ws.root.display()
            )));
        }
        eprint!(
            "Overlord is not set up in {}. Set it up now (overlord-tui init)? [Y/n] ",
            ws.root.display()
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).map_err(fail)?;
        let answer = answer.trim().to_ascii_lowercase();
        if !(answer.is_empty() || answer == "y" || answer == "yes") {
            eprintln!("nothing was changed");
            return Err(Failed(1));
        }
        let report = ws.init().map_err(fail)?;
        let found = super::init::add_adapter_sections(&ws, &report).map_err(fail)?;
        eprintln!("created {}", report.created.join(", "));
        for (kind, path) in found {
            eprintln!(
                "found {kind} ({}): see its commented section in .overlord/config.toml",
                path.display()
            );
        }
        init_logging(&ws);
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "human".into());
    own(ws, true, |owner| async move {
        let raw = owner.raw.clone().unwrap_or_default();
        tokio::select! {
            r = crate::tui::run::run(owner.handle.clone(), &owner.ws.root, &owner.config, raw, user) => {
                r.map(|_| ()).map_err(fail)
            }
            _ = stopped(owner.stop.clone()) => Ok(()),
        }
    })
}
