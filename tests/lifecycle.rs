//! Every lifecycle rule of the core, on a real store in a real temporary repository.

use overlord::protocol::model::{
    AgentState, ConcernId, ConcernStatus, Decision, Role, Severity, TaskStatus,
};
use overlord::protocol::{EventKind, RejectCode, ReplyData};

use crate::common::*;

#[test]
fn concern_lifecycle_open_acknowledged_assigned_resolved() {
    let repo = Repo::new();
    let mut core = repo.core();
    ok(&mut core, "/agent designer-1 --role designer");
    let r = run_as(
        &mut core,
        agent("implementer-1"),
        "/raise --severity warning --category design_gap --from implementer Function signature for risk_model unclear",
    );
    assert!(r.ok, "{}", r.message);
    let ReplyData::Concern(c) = &r.data else {
        panic!("no concern in reply")
    };
    assert_eq!(c.id, ConcernId(1));
    assert_eq!(
        c.to,
        Role::Designer,
        "an implementer's concern goes to the designer first"
    );
    assert_eq!(c.raised_by.as_deref(), Some("implementer-1"));

    ok(&mut core, "/ack C-1");
    assert_eq!(
        core.state().concerns[&ConcernId(1)].status,
        ConcernStatus::Acknowledged
    );
    assert!(rejected(&mut core, "/ack C-1").contains("already acknowledged"));

    ok(&mut core, "/assign designer-1 C-1 update the spec");
    let c = &core.state().concerns[&ConcernId(1)];
    assert_eq!(c.status, ConcernStatus::Assigned);
    assert_eq!(c.assigned_to.as_deref(), Some("designer-1"));
    assert_eq!(c.response.as_deref(), Some("update the spec"));
    assert_eq!(
        core.state().agents["designer-1"].assignment.as_deref(),
        Some("C-1: update the spec")
    );
    assert!(rejected(&mut core, "/ack C-1").contains("assigned to designer-1"));

    ok(&mut core, "/resolve C-1 spec updated");
    let c = &core.state().concerns[&ConcernId(1)];
    assert_eq!(c.status, ConcernStatus::Resolved);
    assert_eq!(c.resolution.as_deref(), Some("spec updated"));
    assert_eq!(c.resolved_by.as_deref(), Some("cli:tester"));

    assert!(rejected(&mut core, "/resolve C-1").contains("already resolved"));
    assert!(rejected(&mut core, "/ack C-1").contains("already resolved"));
    assert!(rejected(&mut core, "/assign designer-1 C-1 again").contains("already resolved"));
}

#[test]
fn unknown_ids_are_rejected_with_a_suggestion() {
    let repo = Repo::new();
    let mut core = repo.core();
    let msg = rejected(&mut core, "/ack C-7");
    assert!(
        msg.contains("unknown concern 'C-7'") && msg.contains("none"),
        "{msg}"
    );
    ok(&mut core, "/raise --severity info --category note first");
    ok(&mut core, "/raise --severity info --category note second");
    let msg = rejected(&mut core, "/resolve C-9");
    assert!(msg.contains("unknown concern 'C-9'"), "{msg}");
    ok(&mut core, "/agent implementer-2 --role implementer");
    let msg = rejected(&mut core, "/pause implementer-3");
    assert!(
        msg.contains("unknown agent 'implementer-3'")
            && msg.contains("did you mean implementer-2?"),
        "{msg}"
    );
    let r = run(&mut core, "/clarify implementr-2 why?");
    assert_eq!(
        r.error.as_ref().map(|e| e.code),
        Some(RejectCode::UnknownId)
    );
    assert_eq!(
        r.error.as_ref().and_then(|e| e.suggestion.as_deref()),
        Some("implementer-2")
    );
    let msg = rejected(&mut core, "/rollback checkpoint/20260101-001");
    assert!(msg.contains("unknown checkpoint"), "{msg}");
    let msg = rejected(&mut core, "/approve A-4");
    assert!(msg.contains("unknown approval"), "{msg}");
    let msg = rejected(&mut core, "/promote phase-9");
    assert!(msg.contains("no plan"), "{msg}");
}

#[test]
fn critical_concerns_reach_the_human_at_once() {
    let repo = Repo::new();
    let mut core = repo.core();
    let r = run_as(
        &mut core,
        agent("tester-1"),
        // (An integrity category would also turn the kill switch on: see governance.)
        "/raise --severity critical --category spec_ambiguity --from tester the spec contradicts itself",
    );
    assert!(r.ok);
    let c = &core.state().concerns[&ConcernId(1)];
    assert_eq!(c.severity, Severity::Critical);
    assert_eq!(c.to, Role::Human);
    assert_eq!(c.escalations, vec![Role::ProjectManager, Role::Human]);
    assert_eq!(r.events.len(), 2, "raised and escalated");
}

#[test]
fn pause_resume_per_agent_and_the_kill_switch() {
    let repo = Repo::new();
    let mut core = repo.core();
    ok(
        &mut core,
        "/agent impl-1 --role implementer --adapter codex",
    );
    ok(
        &mut core,
        "/agent impl-2 --role implementer --adapter claude",
    );
    assert!(rejected(&mut core, "/resume impl-1").contains("not paused"));
    ok(&mut core, "/pause impl-1");
    assert!(core.state().agents["impl-1"].paused);
    assert!(rejected(&mut core, "/pause impl-1").contains("already paused"));
    ok(&mut core, "/resume impl-1");
    assert!(!core.state().agents["impl-1"].paused);

    ok(&mut core, "/pause all");
    assert!(core.state().dispatch_halted);
    assert!(core.state().agents.values().all(|a| a.paused));
    assert!(rejected(&mut core, "/pause all").contains("already paused"));
    assert!(rejected(&mut core, "/resume impl-2").contains("kill switch"));
    // An agent registered while the kill switch is on starts suspended.
    ok(&mut core, "/agent impl-3 --role implementer");
    assert!(core.state().agents["impl-3"].paused);
    ok(&mut core, "/resume all");
    assert!(!core.state().dispatch_halted);
    assert!(core.state().agents.values().all(|a| !a.paused));
    assert!(rejected(&mut core, "/resume all").contains("nothing is paused"));
    assert!(rejected(&mut core, "/agent impl-1 --role tester").contains("already registered"));
    assert!(rejected(&mut core, "/agent all --role tester").contains("reserved"));
}

#[test]
fn approvals_for_plan_design_spec_test_plan() {
    let repo = Repo::new();
    let mut core = repo.core();
    repo.write("plan.json", PLAN);
    let r = ok(&mut core, "/import plan.json");
    assert!(
        r.message.contains("awaits the human's approval as A-1"),
        "{}",
        r.message
    );
    assert_eq!(core.state().pending_approvals().count(), 1);
    ok(&mut core, "/approve plan looks right");
    let a = &core.state().approvals.values().next().unwrap().clone();
    assert_eq!(a.decision, Some(Decision::Approved));
    assert_eq!(a.note.as_deref(), Some("looks right"));
    assert!(rejected(&mut core, "/approve A-1").contains("already approved"));
    assert!(rejected(&mut core, "/approve plan").contains("no plan approval is pending"));

    let r = run_as(
        &mut core,
        agent("designer-1"),
        "/request design_spec design/DESIGN_SPEC.md --from designer Design spec ready",
    );
    assert!(r.ok, "{}", r.message);
    let dup = rejected_as(
        &mut core,
        agent("designer-1"),
        "/request design_spec design/DESIGN_SPEC.md again",
    );
    assert!(dup.contains("already awaiting approval as A-2"), "{dup}");
    ok(
        &mut core,
        "/reject design the cache section contradicts the data model",
    );
    let a = &core.state().approvals[&"A-2".parse().unwrap()];
    assert_eq!(a.decision, Some(Decision::Rejected));
    assert_eq!(
        a.note.as_deref(),
        Some("the cache section contradicts the data model")
    );
    assert!(rejected(&mut core, "/approve A-2").contains("already rejected"));

    // A rejected artifact can be submitted again.
    let r = run_as(
        &mut core,
        agent("designer-1"),
        "/request design_spec design/DESIGN_SPEC.md v2",
    );
    assert!(r.ok, "{}", r.message);
    ok(
        &mut core,
        "/request test_plan tests/TEST_PLAN.md Test plan ready",
    );
    let both = rejected(&mut core, "/approve A-9");
    assert!(both.contains("unknown approval"), "{both}");
    ok(&mut core, "/defer test_plan need coverage numbers");
    assert_eq!(
        core.state().approvals[&"A-4".parse().unwrap()].decision,
        Some(Decision::Deferred)
    );
    assert!(rejected(&mut core, "/defer A-4").contains("already deferred"));
    ok(&mut core, "/approve A-4");
    ok(&mut core, "/approve design_spec");
    assert_eq!(core.state().pending_approvals().count(), 0);

    let msg = rejected(&mut core, "/request variation V-1 x");
    assert!(msg.contains("/propose"), "{msg}");
}

#[test]
fn variations_approve_defer_reject_and_conditions() {
    let repo = Repo::new();
    let mut core = repo.core();
    let r = run_as(
        &mut core,
        agent("impl-1"),
        "/propose --impact high --from implementer --rationale \"Optuna runtime issues\" --affects optimizer Switch optimizer engine",
    );
    assert!(r.ok, "{}", r.message);
    let r = run_as(
        &mut core,
        agent("impl-1"),
        "/propose --impact low Rename a helper",
    );
    assert!(r.message.contains("no human review"), "{}", r.message);
    assert!(rejected(&mut core, "/approve V-2").contains("needs no human decision"));
    // Agents cannot take governance decisions.
    let msg = rejected_as(&mut core, agent("impl-1"), "/approve V-1");
    assert!(msg.contains("only a human"), "{msg}");
    ok(&mut core, "/defer V-1 benchmark first");
    ok(
        &mut core,
        "/approve V-1 --conditions \"benchmark parity tests pass\" trial only",
    );
    let v = &core.state().variations[&"V-1".parse().unwrap()];
    assert_eq!(v.decision, Some(Decision::ApprovedWithConditions));
    assert_eq!(v.conditions.as_deref(), Some("benchmark parity tests pass"));
    assert_eq!(v.reviewed_by.as_deref(), Some("cli:tester"));
    assert!(
        rejected(&mut core, "/reject V-1 too late").contains("already approved with conditions")
    );

    let r = run_as(
        &mut core,
        agent("impl-1"),
        "/propose --impact high Replace the data engine",
    );
    assert!(r.ok);
    ok(&mut core, "/reject V-3 keep DuckDB");
    assert_eq!(
        core.state().variations[&"V-3".parse().unwrap()].decision,
        Some(Decision::Rejected)
    );
    // A handoff tagged impact: high becomes a variation for the human (seed 001).
    let r = run_as(
        &mut core,
        agent("designer-1"),
        "/handoff --from designer --to human --purpose \"High-Impact Variation Review\" --impact high --output docs/PROJECT_VARIATIONS.md Adds an exchange adapter layer",
    );
    assert!(r.ok, "{}", r.message);
    let v = &core.state().variations[&"V-4".parse().unwrap()];
    assert_eq!(v.proposed_by, Role::Designer);
    assert_eq!(core.state().handoffs.len(), 1);
    assert_eq!(
        core.state().handoffs[0].outputs,
        vec!["docs/PROJECT_VARIATIONS.md"]
    );
}

#[test]
fn tasks_and_phase_promotion() {
    let repo = Repo::new();
    let mut core = repo.core();
    repo.write("plan.json", PLAN);
    ok(&mut core, "/import plan.json");
    let msg = rejected(&mut core, "/task t2_indicators done");
    assert!(msg.contains("depends on t1_data (todo)"), "{msg}");
    assert!(rejected(&mut core, "/task t1_dta done").contains("did you mean t1_data?"));
    let msg = rejected(&mut core, "/promote phase-1");
    assert!(
        msg.contains("unfinished tasks t1_data (todo), t2_indicators (todo)"),
        "{msg}"
    );
    assert!(rejected(&mut core, "/promote phase-3").contains("did you mean phase-1?"));
    ok(&mut core, "/task t1_data in_progress");
    assert!(rejected(&mut core, "/task t1_data in_progress").contains("already in_progress"));
    ok(&mut core, "/task t1_data done data loader merged");
    ok(&mut core, "/task t2_indicators done");
    // Done is not integrated: a promotion needs every task Saved into main, so neither an
    // agent's request nor the human's /promote goes on (the whole promotion, with real Saves,
    // tags and branches, and an agent's request approved, is tests/promotion.rs).
    for who in [agent("pm"), human()] {
        let msg = rejected_as(&mut core, who, "/promote phase-1");
        assert!(
            msg.contains("not integrated on main: t1_data (done but not Saved yet")
                && msg.contains("t2_indicators (done but not Saved yet"),
            "{msg}"
        );
    }
    let plan = core.state().plan.clone().unwrap();
    assert!(plan.phases[0].promoted_at.is_none());
    assert_eq!(plan.task("t1_data").unwrap().status, TaskStatus::Done);
    assert_eq!(plan.task("t1_data").unwrap().commentary.len(), 1);
    // Every reason at once: the critical concern and the ALERT alert in force too.
    ok(&mut core, "/task t3_entry done");
    let c = ok(
        &mut core,
        "/raise --severity critical --category design_gap the entry rule loses money",
    );
    let id = match &c.data {
        overlord::protocol::ReplyData::Concern(c) => c.id,
        other => panic!("{other:?}"),
    };
    core.emit(
        "system:monitor",
        vec![overlord::protocol::EventKind::MetricAlert {
            level: overlord::protocol::model::AlertLevel::Alert,
            key: "coverage".into(),
            message: "coverage 60.0% is under 80.0%".into(),
            concern: None,
        }],
    )
    .unwrap();
    let msg = rejected(&mut core, "/promote phase-2");
    for reason in [
        "not integrated on main: t3_entry",
        &format!("critical concern {id} is open (the entry rule loses money)"),
        "the ALERT alert coverage is in force",
        "nothing was changed",
    ] {
        assert!(msg.contains(reason), "{reason}: {msg}");
    }
    assert!(core.state().plan.as_ref().unwrap().phases[1]
        .promoted_at
        .is_none());
}

#[test]
fn clarifications_one_at_a_time_and_answered() {
    let repo = Repo::new();
    let mut core = repo.core();
    ok(&mut core, "/agent designer-1 --role designer");
    let r = ok(&mut core, "/clarify designer-1 why parquet?");
    assert!(r.message.contains("Q-1"));
    assert!(
        rejected(&mut core, "/clarify designer-1 and another").contains("one question at a time")
    );
    let r = run_as(
        &mut core,
        agent("designer-1"),
        "/answer Q-1 columnar access is faster",
    );
    assert!(r.ok);
    let q = &core.state().clarifications[&"Q-1".parse().unwrap()];
    assert_eq!(q.answer.as_deref(), Some("columnar access is faster"));
    assert!(rejected(&mut core, "/answer Q-1 again").contains("already answered"));
    assert!(rejected(&mut core, "/answer Q-5 x").contains("unknown clarification"));
    ok(&mut core, "/clarify designer-1 next question");
}

#[test]
fn save_and_rollback_in_a_repository_without_commits_are_refused_cleanly() {
    let repo = Repo::new();
    let mut core = repo.core();
    let before = core.state().clone();
    let r = run(&mut core, "/save");
    assert!(!r.ok);
    assert_eq!(
        r.error.as_ref().map(|e| e.code),
        Some(RejectCode::InvalidInput)
    );
    assert!(r.message.contains("no commits yet"), "{}", r.message);
    assert!(r.message.contains("nothing was changed"));
    let r = run(&mut core, "/rollback checkpoint/20260101-001");
    assert!(!r.ok);
    assert_eq!(&before.checkpoints, &core.state().checkpoints);
    assert!(core.state().operation.is_none());
    assert!(rejected_as(&mut core, agent("impl-1"), "/save").contains("only a human"));
}

#[test]
fn status_reports_what_a_governor_needs() {
    let repo = Repo::new();
    let mut core = repo.core();
    repo.write("plan.json", PLAN);
    ok(&mut core, "/import plan.json");
    ok(&mut core, "/agent impl-1 --role implementer --task t1_data");
    ok(
        &mut core,
        "/raise --severity critical --category build broken build",
    );
    ok(&mut core, "/raise --severity info --category note fyi");
    let r = ok(&mut core, "/status");
    let ReplyData::Status(s) = r.data else {
        panic!("no status")
    };
    assert_eq!(s.tasks_total, 3);
    assert_eq!(s.open_concerns.critical, 1);
    assert_eq!(s.open_concerns.info, 1);
    assert_eq!(s.pending_approvals.len(), 1);
    assert_eq!(s.phase.as_ref().unwrap().id, "phase-1");
    assert_eq!(s.agents[0].state, AgentState::Idle);
    assert_eq!(
        s.concerns[0].severity,
        Severity::Critical,
        "most severe first"
    );
    assert!(r.message.contains("tasks 0/3 done"), "{}", r.message);
    let r = ok(&mut core, "/help");
    assert!(r.message.contains("/resolve <concern> [note]"));
    assert!(
        !r.message.contains("/raise"),
        "agent calls are not in the human help"
    );
    let r = ok(&mut core, "/help raise");
    assert!(r.message.contains("--severity"));
}

#[test]
fn events_are_sequence_numbered_and_published() {
    let repo = Repo::new();
    let mut core = repo.core();
    let mut rx = core.subscribe();
    ok(&mut core, "/raise --severity info --category x one");
    ok(&mut core, "/ack C-1");
    let rejected_reply = run(&mut core, "/ack C-1");
    assert!(!rejected_reply.ok);
    let a = rx.try_recv().unwrap();
    let b = rx.try_recv().unwrap();
    assert_eq!((a.seq, b.seq), (1, 2));
    assert!(matches!(a.kind, EventKind::ConcernRaised { .. }));
    assert!(matches!(b.kind, EventKind::ConcernAcknowledged { .. }));
    assert!(
        rx.try_recv().is_err(),
        "a rejected command publishes nothing"
    );
    assert_eq!(core.state().last_event_seq, 2);
}
