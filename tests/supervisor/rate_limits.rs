//! The rate-limit policy as docs/agents.md states it (issue 21 §2): a rate-limited run
//! pauses and runs again up to `rate_limit_retries` times; then the task goes to a fallback
//! adapter, or, with none configured, fails with a concern to the human — no ordinary
//! backoff runs on top, no warning to the designer instead.

use overlord::protocol::model::{AgentState, Role, TaskStatus};

use super::{base_config, committed, sh_adapter, task_status, Swarm, ONE};

#[test]
fn past_its_rate_limit_pauses_with_no_fallback_the_task_fails_and_the_human_is_told() {
    let repo = committed();
    let runs = repo.home.path().join("runs");
    let mut config = base_config("limited");
    config.agents.rate_limit_retries = 2;
    config.agents.max_attempts = 3;
    config.agents.fallback = Vec::new();
    sh_adapter(
        &mut config,
        "limited",
        &format!(
            r#"echo run >> {}; echo '{{"type":"started","session_id":"s-1","model":null}}'; echo '{{"type":"finished","ok":false,"result_text":null,"error":{{"kind":"rate_limited","retry_after_ms":200,"message":"429 Too Many Requests","code":null}}}}'; exit 1"#,
            runs.display()
        ),
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("a failed after its rate-limit pauses", 60, |s| {
        task_status(s, "a") == Some(TaskStatus::Failed)
            && s.concerns.values().any(|c| c.category == "rate_limited")
    });
    // One run and its 2 retries: 3 in all (the ordinary backoff would have added more).
    let count = || {
        std::fs::read_to_string(&runs)
            .unwrap_or_default()
            .lines()
            .count()
    };
    assert_eq!(count(), 3, "runs");
    let c = s
        .concerns
        .values()
        .find(|c| c.category == "rate_limited")
        .unwrap();
    assert_eq!(c.to, Role::Human, "{c:?}");
    assert!(c.summary.contains("429"), "{}", c.summary);
    assert!(c.summary.contains("2 pauses"), "{}", c.summary);
    assert!(
        !s.concerns.values().any(|c| c.category == "task_failed"),
        "no ordinary failure concern to the designer: {:?}",
        s.concerns.values().collect::<Vec<_>>()
    );
    let agent = s.agents.values().next().unwrap();
    assert_eq!(agent.state, AgentState::Failed, "{agent:?}");
}
