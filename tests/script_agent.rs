//! `overlord-tui variation propose`, the way agents and scripts propose a variation.

use serde_json::Value;

use overlord::protocol::model::{Role, VariationId};

use crate::common::*;

fn init(repo: &Repo) {
    let o = repo.run(&["init"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn variation_propose_through_the_cli() {
    let repo = Repo::new();
    init(&repo);
    let o = repo.run(&[
        "variation",
        "propose",
        "--impact",
        "high",
        "--title",
        "Split the parser module",
        "--rationale",
        "It grows",
        "--affects",
        "src/parser.rs",
        "--affects",
        "src/lib.rs",
        "--from",
        "designer",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["data"]["type"], "variation");
    let var = &v["data"]["value"];
    assert_eq!(var["id"], "V-1");
    assert_eq!(var["proposed_by"], "designer");
    assert_eq!(var["agent"], Value::Null);
    assert_eq!(var["impact"], "high");
    assert_eq!(var["rationale"], "It grows");
    assert_eq!(
        var["affects"],
        serde_json::json!(["src/parser.rs", "src/lib.rs"])
    );
    let approval = var["approval"]
        .as_str()
        .expect("high impact asks the human");

    let o = repo.run(&["status", "--json"]);
    let status: Value = serde_json::from_slice(&o.stdout).unwrap();
    let pending = status["report"]["pending_approvals"].as_array().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["id"], approval);
    assert_eq!(pending[0]["kind"], "variation");
    assert_eq!(pending[0]["subject"], "V-1");

    // From an agent, without --from: its role and name; low impact asks nobody.
    let o = repo.run_env(
        &[
            "variation",
            "propose",
            "--impact=low",
            "--title",
            "Rename a helper",
        ],
        &[("OVERLORD_AGENT", "tester-1"), ("OVERLORD_ROLE", "tester")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("variation V-2 logged (low impact"),
        "{}",
        stdout(&o)
    );
    let core = repo.reopen();
    let v2 = &core.state().variations[&VariationId(2)];
    assert_eq!(v2.proposed_by, Role::Tester);
    assert_eq!(v2.agent.as_deref(), Some("tester-1"));
    assert_eq!(v2.approval, None);
    assert_eq!(core.state().pending_approvals().count(), 1);
    drop(core);

    // Usage errors: exit 2, nothing recorded.
    for args in [
        &["variation", "propose", "--impact", "huge", "--title", "x"][..],
        &["variation", "propose", "--impact", "low"][..],
        &["variation", "propose", "--title", "x"][..],
    ] {
        let o = repo.run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!stderr(&o).is_empty());
    }
    let o = repo.run(&["variation", "propose", "--impact", "huge", "--title", "x"]);
    assert!(
        stderr(&o).contains("unknown impact 'huge'"),
        "{}",
        stderr(&o)
    );
    assert_eq!(repo.reopen().state().variations.len(), 2);
    let o = repo.run(&["--help"]);
    assert!(stdout(&o).contains("variation"));
}
