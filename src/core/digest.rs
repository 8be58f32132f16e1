//! Writes the daily digest (issue 9, seed 000 §7): `metrics::digest` renders it; this puts
//! it on disk and in git.
//!
//! - `.overlord/reports/DAILY_<date>.md`: the digest;
//! - `.overlord/reports/audit/AUDIT_<date>.jsonl`: the audit records since the previous day's
//!   digest, in `audit export`'s format (so consecutive days chain: each file's first `prev`
//!   is the previous file's last `hash`);
//! - a commit `reports: daily digest <date>` on the integration branch (on top of it when it
//!   holds main, else on main) with `reports/` and the status documents (`docs/PROJECT_*.md`);
//! - the events `git_action` (`commit`, trigger `report`) and `daily_report_written`, whose
//!   summary the Discord bridge posts to `#system-health`.
//!
//! A Save rebuilds the integration branch from main, so it carries `reports/` from
//! `.overlord/reports/` into its documents commit: the digests reach main with the next Save.
//! The digest waits for the operation lock like `/save`; a Save or rollback that is running
//! leaves the digest on disk, uncommitted (it is committed by that Save or the next digest).

use std::io::Write;
use std::path::Path;

use git2::Oid;

use super::doc_trees::{documents_tree, reports_tree};
use super::engine::Core;
use super::lock::{OperationLock, LOCK_GRACE};
use crate::git;
use crate::metrics::digest::{self, Digest};
use crate::protocol::model::Role;
use crate::protocol::EventKind;

/// The actor named on the digest's events.
pub const ACTOR: &str = "reports";

/// What writing the digest did.
#[derive(Debug, Clone)]
pub struct Written {
    pub digest: Digest,
    /// `.overlord/reports/DAILY_<date>.md`.
    pub file: std::path::PathBuf,
    /// Audit records exported with it.
    pub records: u64,
    /// The commit on the integration branch, if one was made.
    pub commit: Option<String>,
    /// Why there is no commit, when there is none.
    pub note: Option<String>,
}

/// Writes what `fill` writes to `path` through a file beside it, renamed over it once whole,
/// streamed (the day's audit export may be the whole trail: the first digest of a long
/// history).
fn stream_atomically<T>(
    path: &Path,
    fill: impl FnOnce(&mut dyn std::io::Write) -> Result<T, String>,
) -> Result<T, String> {
    let io = |e: std::io::Error| e.to_string();
    let tmp = path.with_extension("tmp");
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let made = fill(&mut out).and_then(|m| out.flush().map(|_| m).map_err(io));
    drop(out);
    match made {
        Ok(m) => std::fs::rename(&tmp, path).map(|_| m).map_err(io),
        Err(e) => {
            // Nothing half-written is left beside the reports.
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// The digest at `now` of the store (with the state `state`), and the record its audit export
/// starts after: the `through_seq` of the last digest of an earlier day (a second digest the
/// same day rewrites the day's file with everything since then). The figures and the day's
/// events come through the metrics' running fold, not the whole trail; the same digest as
/// `metrics::digest::render` over every event (docs/metrics.md, "How they are computed").
pub fn render(
    store: &crate::store::Store,
    state: &crate::protocol::State,
    now: &str,
) -> Result<(Digest, u64), String> {
    let mut reader = super::metrics_reader::MetricsReader::default();
    reader.catch_up(store).map_err(|e| e.to_string())?;
    let unreadable = || format!("{now:?} is not an RFC 3339 time");
    let m = reader
        .metrics(store, crate::metrics::Window::Last24h, now)
        .map_err(|e| e.to_string())?
        .ok_or_else(unreadable)?;
    let mut day = digest::Day::new(now).ok_or_else(unreadable)?;
    reader
        .each_event_from(store, day.since_ms(), |e| day.add(e))
        .map_err(|e| e.to_string())?;
    let note = |t: &str| reader.failed_note(store, t);
    let digest = digest::render_from(m, day, &note, state, now);
    let after = reader.running().report_before(&digest.date);
    Ok((digest, after))
}

/// Writes today's digest at `now` (an audit timestamp), commits it, and records it.
pub fn write_daily(core: &mut Core, now: &str) -> Result<Written, String> {
    core.refresh().map_err(|e| e.to_string())?;
    let (digest, after) = render(core.store(), core.state(), now)?;
    let dir = core.ws.dir.join("reports");
    let audit_dir = dir.join("audit");
    std::fs::create_dir_all(&audit_dir).map_err(|e| format!("{}: {e}", audit_dir.display()))?;
    let file = dir.join(digest.file_name());
    let markdown = digest.markdown.as_bytes();
    stream_atomically(&file, |out| {
        out.write_all(markdown).map_err(|e| e.to_string())
    })
    .map_err(|e| format!("{}: {e}", file.display()))?;
    let through_seq = core.store().head().0;
    let audit_file = audit_dir.join(format!("AUDIT_{}.jsonl", digest.date));
    let records = stream_atomically(&audit_file, |out| {
        crate::store::summary::export_range(core.store(), after, through_seq, out)
            .map_err(|e| e.to_string())
    })
    .map_err(|e| format!("{}: {e}", audit_file.display()))?;

    let (commit, note, mut events) = match commit_reports(core, &digest) {
        Ok(Some((commit, event))) => (Some(commit.to_string()), None, vec![event]),
        Ok(None) => (
            None,
            Some("the integration branch already holds these reports".to_string()),
            vec![],
        ),
        Err(why) => (None, Some(why), vec![]),
    };
    events.push(EventKind::DailyReportWritten {
        date: digest.date.clone(),
        path: format!("reports/{}", digest.file_name()),
        through_seq,
        commit: commit.clone(),
        summary: digest.summary.clone(),
    });
    core.emit(ACTOR, events).map_err(|e| e.to_string())?;
    Ok(Written {
        digest,
        file,
        records,
        commit,
        note,
    })
}

/// Commits `reports/` and the status documents on the integration branch; the commit and its
/// `git_action` event, or `None` when the branch already holds them. Refuses (with the
/// reason) when there is no git session yet or an operation is running.
fn commit_reports(core: &Core, digest: &Digest) -> Result<Option<(Oid, EventKind)>, String> {
    let Some(sess) = core.state().git.clone() else {
        return Err(
            "no git session yet (it starts with the first task worktree or Save): the digest is only on disk"
                .into(),
        );
    };
    let _lock = match OperationLock::acquire(&core.ws, LOCK_GRACE) {
        Ok(Some(l)) => l,
        Ok(None) => return Err(
            "a Save or rollback is running: the digest is on disk and goes in with the next Save"
                .into(),
        ),
        Err(e) => return Err(format!("cannot take .overlord/operation.lock: {e}")),
    };
    let err = |e: git2::Error| e.message().to_string();
    let repo = git::open(&core.ws.root).map_err(|e| e.to_string())?;
    let main = git::ref_target(&repo, &sess.main_ref())
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the main branch {} does not exist", sess.main))?;
    let integ_ref = format!("refs/heads/{}", sess.integration_branch());
    let integ = git::ref_target(&repo, &integ_ref).map_err(|e| e.to_string())?;
    // On top of the integration branch when it holds main (its merges are not lost), else
    // on main (the branch is rebuilt from main by every Save anyway).
    let parent = match integ {
        Some(i) if i == main || repo.graph_descendant_of(i, main).unwrap_or(false) => i,
        _ => main,
    };
    let parent_commit = repo.find_commit(parent).map_err(err)?;
    let root = parent_commit.tree().map_err(err)?;
    let mut top = repo.treebuilder(Some(&root)).map_err(err)?;
    if let Some(reports) =
        reports_tree(&repo, Some(&root), &core.ws.dir.join("reports")).map_err(err)?
    {
        top.insert("reports", reports, 0o040000).map_err(err)?;
    }
    let docs = documents_tree(&repo, &root, core.state(), None, None).map_err(err)?;
    top.insert("docs", docs, 0o040000).map_err(err)?;
    let tree = top.write().map_err(err)?;
    if tree == root.id() {
        return Ok(None);
    }
    let message = format!(
        "reports: daily digest {}\n\n{}\n\n{}",
        digest.date,
        digest.summary,
        git::trailers(Role::ProjectManager, core.state().last_event_seq, &sess.id)
    );
    let author = git::signature(Some(Role::ProjectManager)).map_err(|e| e.to_string())?;
    let commit =
        git::commit(&repo, tree, &[parent], &message, &author).map_err(|e| e.to_string())?;
    repo.reference(&integ_ref, commit, true, "overlord: daily digest")
        .map_err(err)?;
    Ok(Some((
        commit,
        EventKind::GitAction {
            action: "commit".into(),
            reference: integ_ref,
            old: integ.map(|o| o.to_string()),
            new: Some(commit.to_string()),
            source: None,
            trigger: "report".into(),
            detail: format!(
                "daily digest {} with the status documents and the day's audit records",
                digest.date
            ),
        },
    )))
}

/// Runs until `stop`: writes the digest every day at `[reports] daily_at` (UTC), on a
/// blocking thread with its own `Core` (its events reach the owner's subscribers through the
/// core's polling).
pub async fn run(
    ws: crate::workspace::Workspace,
    config: crate::config::Config,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let Some(at) = config.reports.daily_at else {
        return;
    };
    loop {
        let Some(wait) = crate::config::until_next(at, time::OffsetDateTime::now_utc()) else {
            return;
        };
        if !super::clock::sleep_or_stop(wait, &mut stop).await {
            return;
        }
        let (ws, config) = (ws.clone(), config.clone());
        let done = tokio::task::spawn_blocking(move || {
            let mut core = Core::open(&ws, &config).map_err(|e| e.to_string())?;
            write_daily(&mut core, &super::clock::now())
        })
        .await;
        match done {
            Ok(Ok(w)) => {
                tracing::info!(file = %w.file.display(), commit = ?w.commit, note = ?w.note, "{}", w.digest.summary)
            }
            Ok(Err(e)) => tracing::error!(error = %e, "the daily digest was not written"),
            Err(e) => tracing::error!(error = %e, "the daily digest failed"),
        }
        // Past the minute, so the same time of day is not taken twice.
        tokio::time::sleep(std::time::Duration::from_secs(61)).await;
    }
}
