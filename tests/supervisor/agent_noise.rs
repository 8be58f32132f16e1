//! Noise and false alarms in what the supervisor shows of a run (issue 21 §6): stderr noise
//! stays out of the failure's concern, and a CLI retrying the model API on stderr only
//! (Gemini CLI) shows as `retrying (API 429), attempt N`, not as stalled; and (§5) text
//! streamed as deltas shows live, then once as the whole message.

use std::time::{Duration, Instant};

use overlord::protocol::model::TaskStatus;

use super::{base_config, committed, sh_adapter, task_status, Swarm, ONE};

#[test]
fn a_failures_concern_quotes_the_last_meaningful_stderr_line_not_its_noise() {
    let repo = committed();
    let mut config = base_config("noisy");
    config.agents.max_attempts = 1;
    sh_adapter(
        &mut config,
        "noisy",
        r#"echo 'fatal: cannot open the config file' >&2; echo '}' >&2; echo 'Reading additional input from stdin...' >&2; echo '{"type":"finished","ok":false,"result_text":null,"error":{"kind":"other","message":"the run failed","code":null}}'; exit 1"#,
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    let s = swarm.wait("a failed", 30, |s| {
        task_status(s, "a") == Some(TaskStatus::Failed)
            && s.concerns.values().any(|c| c.category == "task_failed")
    });
    let c = s
        .concerns
        .values()
        .find(|c| c.category == "task_failed")
        .unwrap();
    assert!(
        c.summary
            .contains("(stderr: fatal: cannot open the config file)"),
        "{}",
        c.summary
    );
    assert!(!c.summary.contains("stderr: }"), "{}", c.summary);
    assert!(
        !c.summary.contains("Reading additional input"),
        "{}",
        c.summary
    );
}

#[test]
fn a_cli_retrying_the_api_on_stderr_shows_as_retrying_not_stalled() {
    let repo = committed();
    let go = repo.home.path().join("go");
    let mut config = base_config("retrier");
    config.agents.stall_secs = 1;
    // Gemini CLI's own words on stderr, then silence while it waits for the API (until the
    // test has seen enough), then the answer. (Nothing on stdout before: stdout and stderr are
    // read apart, so their order would be a race.)
    sh_adapter(
        &mut config,
        "retrier",
        &format!(
            r#"echo 'Attempt 1 failed with status 429. Retrying with backoff... GaxiosError: [{{' >&2; echo 'Attempt 2 failed: You exceeded your current quota, please check your plan and billing details. Retrying after 5469ms...' >&2; while [ ! -f {} ]; do sleep 0.05; done; echo done"#,
            go.display()
        ),
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    swarm.wait("the retry shown", 30, |s| {
        s.agents
            .values()
            .any(|a| a.detail.as_deref() == Some("retrying (API 429), attempt 2"))
    });
    // Quiet for well over stall_secs: still retrying, never stalled.
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        let s = swarm.state();
        let a = s.agents.values().next().unwrap();
        assert_eq!(
            a.detail.as_deref(),
            Some("retrying (API 429), attempt 2"),
            "{a:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(&go, "").unwrap();
    swarm.wait("a done", 30, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
}

#[test]
fn text_streamed_as_deltas_shows_live_then_once_as_the_whole_message() {
    let repo = committed();
    let go = repo.home.path().join("go");
    let mut config = base_config("streamer");
    sh_adapter(
        &mut config,
        "streamer",
        &format!(
            r#"echo '{{"type":"text","text":"Writing the ","delta":true}}'; echo '{{"type":"text","text":"parser now","delta":true}}'; while [ ! -f {} ]; do sleep 0.05; done; echo '{{"type":"text","text":"Writing the parser now","delta":false}}'; echo '{{"type":"finished","ok":true,"result_text":"Writing the parser now","error":null}}'"#,
            go.display()
        ),
    );
    let swarm = Swarm::start(repo, config);
    swarm.import(ONE);
    swarm.approve_plan();
    // While the message is being written: the deltas so far.
    swarm.wait("the live text", 30, |s| {
        s.agents
            .values()
            .any(|a| a.last_output.as_deref() == Some("Writing the parser now"))
    });
    std::fs::write(&go, "").unwrap();
    let s = swarm.wait("a done", 30, |s| {
        task_status(s, "a") == Some(TaskStatus::Done)
    });
    let a = s.agents.values().next().unwrap();
    assert_eq!(
        a.last_output.as_deref(),
        Some("Writing the parser now"),
        "the whole message replaces its deltas: {a:?}"
    );
}
