//! Alert latency: from the core's event (a concern raised) to the request arriving at the fake
//! Discord, under a burst of 500 concerns raised as fast as the core takes them. Side by side
//! in the same run, the baseline: the same number of messages posted straight through the REST
//! client (what the network path alone costs here).
//!
//! `cargo bench --bench discord_alerts` (figures in docs/PERFORMANCE.md).

#[path = "../tests/common"]
mod common {
    #[allow(dead_code)]
    pub mod fake_discord;
}

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::fake_discord::{FakeDiscord, BOT_TOKEN};
use overlord::config::{Config, DiscordChannels, DiscordConfig, Snowflake};
use overlord::core::{Core, Handle};
use overlord::discord::link::CoreLink;
use overlord::discord::{self, ApiBase, Auth, BotToken, Credentials, Message, Rest};
use overlord::protocol::{parse, EventKind, Origin};

const BURST: usize = 500;
const CHANNEL: u64 = 9_000_000_000_000_001;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn report(name: &str, mut v: Vec<Duration>) -> Duration {
    v.sort();
    let p99 = percentile(&v, 0.99);
    println!(
        "{name:<34} n={:<4} p50 {:>8.2} ms  p90 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
        v.len(),
        percentile(&v, 0.50).as_secs_f64() * 1e3,
        percentile(&v, 0.90).as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        v.last().unwrap().as_secs_f64() * 1e3,
    );
    p99
}

async fn baseline(fake: &FakeDiscord) -> Vec<Duration> {
    let rest = Rest::new(
        ApiBase::parse(&fake.origin()).unwrap(),
        Auth::Bot(BotToken::new(BOT_TOKEN).unwrap()),
    )
    .unwrap();
    let route = format!("/channels/{CHANNEL}/messages");
    let mut out = Vec::new();
    for i in 0..BURST {
        let sent = Instant::now();
        rest.post_channel_message(CHANNEL, &Message::text(format!("baseline {i}")))
            .await
            .unwrap();
        let r = fake
            .next_request("a baseline post", Duration::from_secs(10), |r| {
                r.method == "POST" && r.route() == route
            })
            .await;
        out.push(r.at.duration_since(sent));
    }
    out
}

async fn bridge(fake: &FakeDiscord) -> Vec<Duration> {
    let dir = tempfile::tempdir().unwrap();
    git2::Repository::init(dir.path()).unwrap();
    let ws = overlord::workspace::Workspace::discover(dir.path()).unwrap();
    ws.init().unwrap();
    let discord = DiscordConfig {
        enabled: true,
        channels: DiscordChannels {
            concerns: Some(Snowflake(CHANNEL.to_string())),
            ..DiscordChannels::default()
        },
        ..DiscordConfig::default()
    };
    let config = Config {
        discord: discord.clone(),
        ..Config::default()
    };
    let core = Core::open(&ws, &config).unwrap();
    let (handle, join) = Handle::spawn(core, Duration::from_millis(20)).unwrap();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    // Alerts only (the webhook-less bot without a gateway would also register commands):
    // the outbox is what this measures.
    let credentials = Credentials {
        base: ApiBase::parse(&fake.origin()).unwrap(),
        token: Some(BotToken::new(BOT_TOKEN).unwrap()),
        webhook: None,
    };
    let bridge = discord::start(
        &discord,
        credentials,
        CoreLink::Local(handle.clone()),
        None,
        stop_rx,
    )
    .unwrap();

    // When each concern's event left the core.
    let mut events = handle.subscribe();
    let seen = tokio::spawn(async move {
        let mut at: HashMap<String, Instant> = HashMap::new();
        while at.len() < BURST {
            match events.recv().await {
                Ok(e) => {
                    if let EventKind::ConcernRaised { concern } = e.kind {
                        at.insert(concern.id.to_string(), Instant::now());
                    }
                }
                Err(_) => continue,
            }
        }
        at
    });
    let agent = Origin::Agent {
        agent: "implementer-1".into(),
        role: None,
    };
    let mut raising = Vec::new();
    for i in 0..BURST {
        let (h, o) = (handle.clone(), agent.clone());
        let command = parse(&format!(
            "/raise --severity warning --category spec_ambiguity \"burst concern {i}\""
        ))
        .unwrap();
        raising.push(tokio::spawn(async move { h.submit(o, command).await }));
    }
    for r in raising {
        assert!(r.await.unwrap().ok);
    }
    let events_at = seen.await.unwrap();

    // Each concern's arrival: the first post whose embeds carry it.
    let route = format!("/channels/{CHANNEL}/messages");
    let mut arrived: HashMap<String, Instant> = HashMap::new();
    while arrived.len() < BURST {
        let r = fake
            .next_request("a concern post", Duration::from_secs(30), |r| {
                r.method == "POST" && r.route() == route
            })
            .await;
        for e in r.body["embeds"].as_array().into_iter().flatten() {
            let title = e["title"].as_str().unwrap_or("");
            let id = title.split(' ').next().unwrap_or("").to_string();
            arrived.entry(id).or_insert(r.at);
        }
    }
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.route() == route)
        .count();
    println!("{BURST} concerns arrived in {posts} messages");
    let _ = stop.send(true);
    bridge.join().await;
    handle.stop();
    let _ = join.join();
    events_at
        .iter()
        .map(|(id, t)| arrived[id].saturating_duration_since(*t))
        .collect()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let fake = FakeDiscord::start().await;
        let base = baseline(&fake).await;
        let fake = FakeDiscord::start().await;
        let lat = bridge(&fake).await;
        println!(
            "alert latency, burst of {BURST} concerns (core event → request at the fake Discord)"
        );
        report("baseline: direct REST post", base);
        let p99 = report("bridge: core event → Discord", lat);
        println!(
            "target p99 ≤ 1000 ms: {}",
            if p99 <= Duration::from_secs(1) {
                "met"
            } else {
                "NOT met"
            }
        );
    });
}
