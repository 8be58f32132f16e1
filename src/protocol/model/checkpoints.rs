//! Checkpoints: the tagged commits a Save, a rollback or a promotion leaves (produced by
//! the git part of the core).

use serde::{Deserialize, Serialize};

use super::ids::{QaRunId, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointKind {
    Save,
    Rollback,
    Promotion,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// `checkpoint/<YYYYMMDD>-<NNN>`.
    pub name: String,
    pub kind: CheckpointKind,
    pub commit: String,
    pub created_at: Timestamp,
    pub qa_run: Option<QaRunId>,
    pub summary: String,
    /// For a rollback: the checkpoint whose tree was restored.
    pub restores: Option<String>,
    /// The annotated tag object (`refs/tags/<name>` points at it).
    #[serde(default)]
    pub tag_object: Option<String>,
    /// Where the main branch was before this checkpoint moved it.
    #[serde(default)]
    pub previous: Option<String>,
    /// The tasks a Save integrated.
    #[serde(default)]
    pub tasks: Vec<String>,
    /// The audit events behind it (also in the git note `refs/notes/overlord`).
    #[serde(default)]
    pub audit_ids: Vec<u64>,
    /// For `/rollback undo`: the rollback checkpoint this one reverses.
    #[serde(default)]
    pub undoes: Option<String>,
}

/// Which finished tasks `main` holds, read from the timeline.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OnMain {
    /// Task → the Save checkpoint that brought it into `main`.
    pub tasks: std::collections::BTreeMap<String, String>,
    /// Task → the rollback that took it out of `main`'s tree since (its commits stay in the
    /// history: being an ancestor of `main` no longer means being in it).
    pub taken_out: std::collections::BTreeMap<String, String>,
}

/// Follows the timeline: a Save adds the tasks it integrated; a rollback gives `main` what the
/// checkpoint it restores held (the tasks integrated after it are taken out); undoing a
/// rollback gives back what `main` held before it. A promotion changes nothing.
///
/// What `main` held before or after a checkpoint is kept only for the checkpoints a rollback
/// names, so the walk is linear in the timeline (it copied the whole set at every checkpoint:
/// quadratic, gigabytes over a year of Saves).
pub fn on_main(checkpoints: &[Checkpoint]) -> OnMain {
    use std::collections::{BTreeMap, BTreeSet};
    let rollbacks = || {
        checkpoints
            .iter()
            .filter(|c| c.kind == CheckpointKind::Rollback)
    };
    let undone: BTreeSet<&str> = rollbacks().filter_map(|c| c.undoes.as_deref()).collect();
    let restored_ones: BTreeSet<&str> = rollbacks()
        .filter(|c| c.undoes.is_none())
        .filter_map(|c| c.restores.as_deref())
        .collect();
    let mut now = OnMain::default();
    // What main held after, and before, the checkpoints a rollback names.
    let mut after: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    let mut before: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for cp in checkpoints {
        if undone.contains(cp.name.as_str()) {
            before.insert(&cp.name, now.tasks.clone());
        }
        match cp.kind {
            CheckpointKind::Save => {
                for t in &cp.tasks {
                    now.tasks.insert(t.clone(), cp.name.clone());
                    now.taken_out.remove(t);
                }
            }
            CheckpointKind::Promotion => {}
            CheckpointKind::Rollback => {
                let restored = match (&cp.undoes, &cp.restores) {
                    (Some(undone), _) => before.get(undone.as_str()),
                    (None, Some(restores)) => after.get(restores.as_str()),
                    (None, None) => None,
                }
                .cloned()
                .unwrap_or_default();
                for t in now.tasks.keys().filter(|t| !restored.contains_key(*t)) {
                    now.taken_out.insert(t.clone(), cp.name.clone());
                }
                for t in restored.keys() {
                    now.taken_out.remove(t);
                }
                now.tasks = restored;
            }
        }
        if restored_ones.contains(cp.name.as_str()) {
            after.insert(&cp.name, now.tasks.clone());
        }
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(name: &str, kind: CheckpointKind, tasks: &[&str]) -> Checkpoint {
        Checkpoint {
            name: name.into(),
            kind,
            commit: String::new(),
            created_at: String::new(),
            qa_run: None,
            summary: String::new(),
            restores: None,
            tag_object: None,
            previous: None,
            tasks: tasks.iter().map(|t| t.to_string()).collect(),
            audit_ids: vec![],
            undoes: None,
        }
    }

    #[test]
    fn a_rollback_takes_out_what_came_after_and_its_undo_brings_it_back() {
        let mut timeline = vec![
            cp("c1", CheckpointKind::Save, &["t1"]),
            cp("c2", CheckpointKind::Save, &["t2"]),
        ];
        assert_eq!(on_main(&timeline).tasks.len(), 2);
        timeline.push(Checkpoint {
            restores: Some("c1".into()),
            ..cp("c3", CheckpointKind::Rollback, &[])
        });
        let now = on_main(&timeline);
        assert_eq!(now.tasks.keys().collect::<Vec<_>>(), ["t1"]);
        assert_eq!(now.taken_out.get("t2").map(String::as_str), Some("c3"));
        timeline.push(Checkpoint {
            restores: Some("c3".into()),
            undoes: Some("c3".into()),
            ..cp("c4", CheckpointKind::Rollback, &[])
        });
        let now = on_main(&timeline);
        assert_eq!(now.tasks.len(), 2);
        assert!(now.taken_out.is_empty());
    }

    /// The walk as it was (every checkpoint's before and after kept): the reference.
    fn on_main_reference(checkpoints: &[Checkpoint]) -> OnMain {
        use std::collections::BTreeMap;
        let mut now = OnMain::default();
        let mut after: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
        let mut before: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
        for cp in checkpoints {
            before.insert(&cp.name, now.tasks.clone());
            match cp.kind {
                CheckpointKind::Save => {
                    for t in &cp.tasks {
                        now.tasks.insert(t.clone(), cp.name.clone());
                        now.taken_out.remove(t);
                    }
                }
                CheckpointKind::Promotion => {}
                CheckpointKind::Rollback => {
                    let restored = match (&cp.undoes, &cp.restores) {
                        (Some(undone), _) => before.get(undone.as_str()),
                        (None, Some(restores)) => after.get(restores.as_str()),
                        (None, None) => None,
                    }
                    .cloned()
                    .unwrap_or_default();
                    for t in now.tasks.keys().filter(|t| !restored.contains_key(*t)) {
                        now.taken_out.insert(t.clone(), cp.name.clone());
                    }
                    for t in restored.keys() {
                        now.taken_out.remove(t);
                    }
                    now.tasks = restored;
                }
            }
            after.insert(&cp.name, now.tasks.clone());
        }
        now
    }

    /// A timeline from a script: (kind: Save, Save, promotion, rollback, rollback; tasks, which earlier checkpoint a rollback
    /// names, whether it undoes it); names may repeat and point anywhere, even forward.
    fn timeline(script: &[(u8, Vec<u8>, u8, bool)]) -> Vec<Checkpoint> {
        script
            .iter()
            .enumerate()
            .map(|(i, (kind, tasks, target, undo))| {
                let name = format!("c{}", i % 12);
                let target = Some(format!("c{target}"));
                let tasks: Vec<String> = tasks.iter().map(|t| format!("t{t}")).collect();
                let names: Vec<&str> = tasks.iter().map(String::as_str).collect();
                match kind {
                    0 | 1 => cp(&name, CheckpointKind::Save, &names),
                    2 => cp(&name, CheckpointKind::Promotion, &[]),
                    _ => Checkpoint {
                        restores: target.clone(),
                        undoes: undo.then_some(target).flatten(),
                        ..cp(&name, CheckpointKind::Rollback, &[])
                    },
                }
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn the_linear_walk_answers_as_the_full_one(
            script in proptest::collection::vec(
                (0u8..5, proptest::collection::vec(0u8..30, 0..5), 0u8..14, proptest::bool::ANY),
                0..40,
            )
        ) {
            let t = timeline(&script);
            proptest::prop_assert_eq!(on_main(&t), on_main_reference(&t));
        }
    }
}
