//! `audit verify --git`: do the audit trail and the repository agree?
//!
//! - every checkpoint in the trail has its tag, on its commit, with its note;
//! - every `checkpoint/*` tag in the repository is in the trail;
//! - the main branch is where the last Save or rollback left it (a commit made by hand on
//!   it is reported with its author and subject), and until the human decides (`/adopt main`
//!   or `/restore main`) every such move fails the check;
//! - `refs/notes/overlord` is where Overlord last left it.

use git2::{Oid, Repository};
use serde::Serialize;

use crate::git;
use crate::protocol::State;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitFinding {
    /// `deleted_tag`, `moved_tag`, `replaced_tag`, `missing_note`, `unrecorded_tag`,
    /// `hand_made_commit`, `main_rewound`, `main_diverged`, `main_moved`, `missing_main`,
    /// `notes_rewritten`, `operation_in_progress`.
    pub kind: String,
    pub subject: String,
    pub detail: String,
}

impl std::fmt::Display for GitFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.kind, self.subject, self.detail)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitReport {
    pub ok: bool,
    pub checkpoints: usize,
    pub tags: usize,
    pub main: Option<String>,
    pub main_at: Option<String>,
    pub main_expected: Option<String>,
    pub findings: Vec<GitFinding>,
    /// Worth knowing, not a disagreement (an operation still running).
    pub notes: Vec<GitFinding>,
}

fn finding(kind: &str, subject: &str, detail: impl Into<String>) -> GitFinding {
    GitFinding {
        kind: kind.to_string(),
        subject: subject.to_string(),
        detail: detail.into(),
    }
}

/// What `missing_main` says.
const GONE: &str = "the branch is gone; `/restore main` recreates it where Overlord left it";

pub fn verify_git(state: &State, repo: &Repository) -> Result<GitReport, git2::Error> {
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    for cp in &state.checkpoints {
        let refname = format!("refs/tags/{}", cp.name);
        let Ok(reference) = repo.find_reference(&refname) else {
            findings.push(finding(
                "deleted_tag",
                &cp.name,
                format!(
                    "the trail records it on {} but the tag is gone",
                    git::short(&cp.commit)
                ),
            ));
            continue;
        };
        let target = reference.target().map(|o| o.to_string());
        if let (Some(expected), Some(found)) = (&cp.tag_object, &target) {
            if expected != found {
                findings.push(finding(
                    "replaced_tag",
                    &cp.name,
                    format!(
                        "tag object {} is not the one Overlord made ({})",
                        git::short(found),
                        git::short(expected)
                    ),
                ));
            }
        }
        let commit = reference.peel_to_commit().map(|c| c.id().to_string());
        match commit {
            Ok(c) if c == cp.commit => {}
            Ok(c) => findings.push(finding(
                "moved_tag",
                &cp.name,
                format!(
                    "points at {} but the trail says {}",
                    git::short(&c),
                    git::short(&cp.commit)
                ),
            )),
            Err(_) => findings.push(finding("moved_tag", &cp.name, "does not point at a commit")),
        }
        let has_note = Oid::from_str(&cp.commit)
            .ok()
            .and_then(|c| git::read_note(repo, c))
            .is_some_and(|n| n.contains(&cp.name));
        if !has_note {
            findings.push(finding(
                "missing_note",
                &cp.name,
                format!("no note in {} names it", git::NOTES_REF),
            ));
        }
    }
    let mut tags = 0;
    for name in repo.tag_names(Some("checkpoint/*"))?.iter().flatten() {
        tags += 1;
        if !state.checkpoints.iter().any(|c| c.name == name) {
            findings.push(finding(
                "unrecorded_tag",
                name,
                "a checkpoint tag with no checkpoint in the audit trail",
            ));
        }
    }
    let (mut main, mut main_at) = (None, None);
    if let Some(sess) = &state.git {
        main = Some(sess.main.clone());
        let at = git::ref_target(repo, &sess.main_ref())
            .map_err(|e| git2::Error::from_str(&e.to_string()))?;
        main_at = at.map(|o| o.to_string());
        match (
            at,
            state
                .main_head
                .as_deref()
                .and_then(|h| Oid::from_str(h).ok()),
        ) {
            (None, _) => findings.push(finding("missing_main", &sess.main, GONE)),
            (Some(now), Some(expected)) if now != expected => {
                if repo.graph_descendant_of(now, expected).unwrap_or(false) {
                    let mut walk = repo.revwalk()?;
                    walk.push(now)?;
                    walk.hide(expected)?;
                    for id in walk {
                        let c = repo.find_commit(id?)?;
                        findings.push(finding(
                            "hand_made_commit",
                            git::short(&c.id().to_string()),
                            format!(
                                "on {} after the last Save/rollback, by {} <{}>: {}",
                                sess.main,
                                c.author().name().unwrap_or("?"),
                                c.author().email().unwrap_or("?"),
                                c.summary().unwrap_or("")
                            ),
                        ));
                    }
                } else if repo.graph_descendant_of(expected, now).unwrap_or(false) {
                    findings.push(finding(
                        "main_rewound",
                        &sess.main,
                        format!(
                            "reset back to {} from {} where Overlord left it",
                            git::short(&now.to_string()),
                            git::short(&expected.to_string())
                        ),
                    ));
                } else {
                    findings.push(finding(
                        "main_diverged",
                        &sess.main,
                        format!(
                            "at {}, which does not contain {} where Overlord left it (history rewritten)",
                            git::short(&now.to_string()),
                            git::short(&expected.to_string())
                        ),
                    ));
                }
            }
            _ => {}
        }
        findings.extend(main_moved_finding(repo, &sess.main, at, state));
    }
    findings.extend(notes_finding(state, repo)?);
    if let Some(op) = &state.operation {
        notes.push(finding(
            "operation_in_progress",
            &format!("{} {}", op.kind, op.id),
            format!(
                "started {} by {}; the next operation or start-up finishes or cleans it up",
                op.started_at, op.requested_by
            ),
        ));
    }
    Ok(GitReport {
        ok: findings.is_empty(),
        checkpoints: state.checkpoints.len(),
        tags,
        main,
        main_at,
        main_expected: state.main_head.clone(),
        findings,
        notes,
    })
}

/// Main not where Overlord left it, with the decision to take.
fn main_moved_finding(
    repo: &Repository,
    main: &str,
    at: Option<Oid>,
    state: &State,
) -> Option<GitFinding> {
    let now = at?;
    let expected = Oid::from_str(state.main_head.as_deref()?)
        .ok()
        .filter(|e| *e != now)?;
    Some(finding(
        "main_moved",
        main,
        main_moved(repo, main, expected, now),
    ))
}

/// `refs/notes/overlord` not where Overlord last left it.
fn notes_finding(state: &State, repo: &Repository) -> Result<Option<GitFinding>, git2::Error> {
    let Some(expected) = &state.notes_head else {
        return Ok(None);
    };
    let at =
        git::ref_target(repo, git::NOTES_REF).map_err(|e| git2::Error::from_str(&e.to_string()))?;
    if at.map(|o| o.to_string()).as_deref() == Some(expected.as_str()) {
        return Ok(None);
    }
    Ok(Some(finding(
        "notes_rewritten",
        git::NOTES_REF,
        format!(
            "at {} but Overlord left it at {} (rewritten outside Overlord; a running owner puts it back)",
            at.map(|o| o.to_string())
                .as_deref()
                .map(git::short)
                .unwrap_or("nothing"),
            git::short(expected)
        ),
    )))
}

/// What the human is told about main moved outside Overlord, from `known` (where Overlord left
/// it) to `now`: which way it moved, and the two commands that decide.
pub fn main_moved(repo: &Repository, main: &str, known: Oid, now: Oid) -> String {
    let how = if repo.graph_descendant_of(now, known).unwrap_or(false) {
        let count = || -> Result<usize, git2::Error> {
            let mut walk = repo.revwalk()?;
            walk.push(now)?;
            walk.hide(known)?;
            Ok(walk.count())
        };
        format!("{} commit(s) added", count().unwrap_or(0))
    } else if repo.graph_descendant_of(known, now).unwrap_or(false) {
        "rewound".to_string()
    } else {
        "history rewritten".to_string()
    };
    format!(
        "{main} moved outside Overlord from {} to {} ({how}); decide with `/adopt main` (keep it) or `/restore main` (put it back)",
        git::short(&known.to_string()),
        git::short(&now.to_string())
    )
}
