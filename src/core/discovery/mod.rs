//! The discovery analysts (seed 002 §2): each reads evidence and drafts tickets that cite it
//! (`coverage`: files under the coverage threshold; `logs`: recurring errors; `dependencies`:
//! the dependency watchdog's findings), on demand or on `[discovery] schedule`. Drafts are
//! filed like any ticket file (`/ticket <file>`), so the core deduplicates them against the
//! open tickets. [`drafts_command`] is how any analyst — the dependency watchdog too — files
//! its drafts.

pub mod analysts;
pub mod coverage;
pub mod dependencies;
pub mod logs;
pub mod schedule;

use std::path::PathBuf;

use crate::core::tickets::TicketDraft;
use crate::protocol::Command;
use crate::workspace::Workspace;

/// Writes an analyst's drafts to `.overlord/tickets/inbox/<analyst>-<time>.json` (kept: the
/// audit trail names the file) and gives the `/ticket` command that files them, for the
/// caller to submit with its own origin. `analyst` names the source (`coverage`, `logs`,
/// `dependencies`); drafts without a `source` get `discovery:<analyst>`. `None` when there
/// are no drafts (an empty batch files nothing).
pub fn drafts_command(
    ws: &Workspace,
    analyst: &str,
    drafts: &[TicketDraft],
) -> Result<Option<(PathBuf, Command)>, String> {
    if drafts.is_empty() {
        return Ok(None);
    }
    let drafts: Vec<TicketDraft> = drafts
        .iter()
        .cloned()
        .map(|mut d| {
            d.source
                .get_or_insert_with(|| format!("discovery:{analyst}"));
            d
        })
        .collect();
    let dir = ws.dir.join("tickets").join("inbox");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let stamp = crate::core::now().replace([':', '.'], "");
    let path = dir.join(format!("{analyst}-{stamp}-{}.json", std::process::id()));
    let text = serde_json::to_string_pretty(&drafts).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let command = Command::FileTickets {
        path: path.display().to_string(),
    };
    Ok(Some((path, command)))
}
