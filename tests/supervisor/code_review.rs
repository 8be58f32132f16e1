//! The reviewer loop (issue 24 §4): a Reviewer agent, confined read-only, reviews each
//! finished task's diff before integration; `request_changes` sends the task back to its
//! worker with the findings, `approve` lets it be integrated; after `max_rounds` the human
//! decides. A reviewer that writes the worktree is refused by the kernel sandbox, or found
//! and undone by Overlord when the sandbox is off.

use overlord::config::{Config, SandboxMode};
use overlord::protocol::model::{TaskStatus, Verdict};

use super::{base_config, committed, sh_adapter, task_status, Swarm};
use crate::common::*;

const ONE: &str = r#"{"todo_list_id": "p", "title": "T", "phases": [{"id": "x", "name": "X", "tasks": [
    {"id": "a", "title": "Greet", "agent_role": "implementer"}]}]}"#;

const POLICY: &str = "auto_merge_if:\n  all_tests_passed: true\nrequire_human_if:\n  gate_fail: false\ngates:\n  reproducibility_runs: 1\n  not_measured: ignore\n";

/// The implementer writes "hi" first and "hello" once it has had feedback; the reviewer
/// asks for "hello", and (attacking) tries to write the worktree itself.
fn reviewed(config: &mut Config, scratch: &std::path::Path) {
    config.review.enabled = true;
    config.review.max_rounds = 2;
    config.review.documents = vec!["docs/STYLE.md".into()];
    config.roles.reviewer.adapter = "rev".into();
    config.qa.tests.command = "ls a.txt".into();
    config.qa.tests.format = "exit".into();
    sh_adapter(
        config,
        "sh",
        &format!(
            "printf '%s' \"$0\" > {}/prompt-$OVERLORD_ATTEMPT; if [ \"$OVERLORD_ATTEMPT\" -ge 2 ]; then echo hello > a.txt; else echo hi > a.txt; fi; echo done",
            scratch.display()
        ),
    );
    sh_adapter(
        config,
        "rev",
        r#"echo 'the reviewer was here' > a.txt 2>/dev/null
echo 'the reviewer was here' > extra.txt 2>/dev/null
if git show HEAD:a.txt | grep -q hello; then
  echo '{"verdict": "approve", "findings": [], "summary": "fine"}' > "$OVERLORD_REVIEW_FILE"
else
  echo '{"verdict": "request_changes", "findings": [{"file": "a.txt", "line": 1, "severity": "major", "text": "say hello, not hi"}]}' > "$OVERLORD_REVIEW_FILE"
fi
echo reviewed"#,
    );
}

#[test]
fn changes_requested_go_back_to_the_worker_and_the_approved_task_is_integrated() {
    let repo = committed();
    repo.write(".overlord/QA_POLICY.yaml", POLICY);
    let scratch = repo.home.path().to_path_buf();
    let mut config = base_config("sh");
    reviewed(&mut config, &scratch);
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("two reviews, a done and integrated", 90, |s| {
        s.reviews.len() == 2
            && task_status(s, "a") == Some(TaskStatus::Done)
            && s.operation.is_none()
            && swarm.integrated_files().contains("a.txt")
    });
    let (first, second) = (&s.reviews[0], &s.reviews[1]);
    assert_eq!((first.round, first.verdict), (1, Verdict::RequestChanges));
    assert_eq!(first.findings[0].text, "say hello, not hi");
    assert_eq!(first.findings[0].line, Some(1));
    assert_eq!((second.round, second.verdict), (2, Verdict::Approve));
    // The worker's second run was told what to change.
    let prompt = std::fs::read_to_string(scratch.join("prompt-2")).unwrap();
    assert!(prompt.contains("say hello, not hi"), "{prompt}");
    // The thread is on the task.
    let a = s.plan.as_ref().unwrap().task("a").unwrap().clone();
    assert!(
        a.commentary.iter().any(|c| c.contains("changes requested")),
        "{:?}",
        a.commentary
    );
    // The reviewer could not write the worktree: what was integrated is the worker's.
    let integ = git(
        swarm.repo.path(),
        swarm.repo.home.path(),
        &[
            "branch",
            "--list",
            "--format=%(refname)",
            "session/*/integration",
        ],
    );
    let text = git(
        swarm.repo.path(),
        swarm.repo.home.path(),
        &["show", &format!("{}:a.txt", integ.trim())],
    );
    assert_eq!(text.trim(), "hello");
    assert!(!swarm.integrated_files().contains("extra.txt"));
}

#[test]
fn past_max_rounds_the_human_decides() {
    let repo = committed();
    repo.write(".overlord/QA_POLICY.yaml", POLICY);
    let mut config = base_config("sh");
    reviewed(&mut config, repo.home.path());
    config.review.max_rounds = 1;
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("the human asked to decide", 90, |s| {
        s.concerns
            .values()
            .any(|c| c.category == "review_rounds_exhausted")
    });
    assert_eq!(task_status(&s, "a"), Some(TaskStatus::NeedsReview));
    assert!(
        s.qa_runs.is_empty(),
        "nothing was integrated before the human decided"
    );
    // The human accepts it: it is integrated.
    swarm.ok("/task a done");
    swarm.wait("a integrated", 60, |s| {
        s.operation.is_none() && !s.qa_runs.is_empty() && swarm.integrated_files().contains("a.txt")
    });
}

#[test]
fn with_the_sandbox_off_a_reviewer_that_writes_the_worktree_is_caught_and_undone() {
    let repo = committed();
    repo.write(".overlord/QA_POLICY.yaml", POLICY);
    let mut config = base_config("sh");
    reviewed(&mut config, repo.home.path());
    config.agents.sandbox = SandboxMode::Off;
    config.agents.max_attempts = 1;
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("the review run refused", 90, |s| {
        task_status(s, "a-review-1") == Some(TaskStatus::Failed)
    });
    let review = s.plan.as_ref().unwrap().task("a-review-1").unwrap().clone();
    assert!(
        review
            .commentary
            .iter()
            .any(|c| c.contains("the reviewer changed the worktree")),
        "{:?}",
        review.commentary
    );
    // The worktree holds the worker's work again.
    let wt = swarm.repo.path().join(".overlord/worktrees/a");
    assert_eq!(
        std::fs::read_to_string(wt.join("a.txt")).unwrap().trim(),
        "hi"
    );
    assert!(!wt.join("extra.txt").exists());
    assert!(s.reviews.is_empty());
}

mod review_file {
    use overlord::protocol::model::{Finding, ReviewFile, Verdict, SEVERITIES};
    use proptest::prelude::*;

    fn finding() -> impl Strategy<Value = Finding> {
        (
            "[a-z]{1,8}(/[a-z]{1,8}){0,2}\\.rs",
            proptest::option::of(1u32..5000),
            0usize..4,
            "[ -~]{1,40}",
        )
            .prop_filter("text not blank", |(_, _, _, t)| !t.trim().is_empty())
            .prop_map(|(file, line, s, text)| Finding {
                file,
                line,
                severity: SEVERITIES[s].to_string(),
                text,
            })
    }

    proptest! {
        /// What a reviewer writes reads back as written: the verdict, every finding in order.
        #[test]
        fn a_review_file_round_trips(findings in proptest::collection::vec(finding(), 1..8), approve in any::<bool>()) {
            let file = ReviewFile {
                verdict: if approve { Verdict::Approve } else { Verdict::RequestChanges },
                findings: findings.clone(),
                summary: Some("s".into()),
            };
            let text = serde_json::to_string_pretty(&file).unwrap();
            let back = ReviewFile::parse(&text).unwrap();
            prop_assert_eq!(back.findings.len(), findings.len());
            prop_assert_eq!(back, file);
        }
    }

    #[test]
    fn bad_review_files_are_refused_saying_what_is_wrong() {
        for (text, why) in [
            ("", "not valid"),
            ("{\"verdict\": \"maybe\"}", "not valid"),
            ("{\"verdict\": \"request_changes\", \"findings\": []}", "at least one finding"),
            (
                "{\"verdict\": \"approve\", \"findings\": [{\"file\": \"a.rs\", \"severity\": \"huge\", \"text\": \"x\"}]}",
                "severity 'huge'",
            ),
            (
                "{\"verdict\": \"approve\", \"findings\": [{\"file\": \"../etc/passwd\", \"severity\": \"nit\", \"text\": \"x\"}]}",
                "not a path inside the repository",
            ),
            (
                "{\"verdict\": \"approve\", \"findings\": [{\"file\": \"a.rs\", \"severity\": \"nit\", \"text\": \" \"}]}",
                "may not be empty",
            ),
            ("{\"verdict\": \"approve\", \"extra\": 1}", "not valid"),
        ] {
            let e = ReviewFile::parse(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }
}

/// The thread reaches Discord's `#project-updates`: the verdict and the findings.
#[test]
fn a_review_is_posted_to_discord_with_its_findings() {
    use overlord::discord::alerts::{route, Alert, Channel};
    use overlord::protocol::model::{Finding, Review};
    use overlord::protocol::{Event, EventKind, State};
    let review = Review {
        task: "a".into(),
        round: 1,
        reviewer: "reviewer-1".into(),
        verdict: Verdict::RequestChanges,
        findings: vec![Finding {
            file: "src/a.rs".into(),
            line: Some(7),
            severity: "major".into(),
            text: "the error is swallowed".into(),
        }],
        summary: None,
        at: "2026-12-07T05:00:00.000Z".into(),
    };
    let event = Event {
        seq: 1,
        at: review.at.clone(),
        actor: "supervisor".into(),
        command_seq: None,
        kind: EventKind::ReviewRecorded { review },
    };
    let alerts = route(&event, &State::default());
    assert_eq!(
        alerts,
        vec![Alert::Line(
            Channel::Updates,
            "🔍 review 1 of a by reviewer-1: request_changes\n• src/a.rs:7 [major] the error is swallowed".into()
        )]
    );
}
