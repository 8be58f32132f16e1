//! The alert outbox: folds the core's events into its own copy of the state, routes them to
//! alerts (`alerts::route`), gathers a burst (`[discord] coalesce_ms`) and posts it — new
//! concerns several to a message, lines of updates packed together — through our REST client,
//! which waits out 429s. An alert that could not be delivered (Discord down, rate limits past
//! the retries) stays queued and is tried again with a growing pause; nothing is dropped but
//! what Discord refuses for good (401, 403, 404: logged). The gateway plays no part here, so a
//! dropped gateway connection loses no alert.
//!
//! With a bot, the message that shows a concern is recorded on it in the core (`/link`, as
//! the system) and edited as the concern's status moves. With only a webhook, everything goes
//! to the webhook's channel, without buttons (webhooks cannot carry them).
//!
//! The outbox is durable: what must reach Discord is derived from the audit trail. The
//! bridge's ledger in the store ([`crate::store::bridge`]) holds the last event whose alerts
//! were delivered and the message of every concern and approval. On start (and after a gap,
//! such as the owner being away) the events after the cursor are read from the store and
//! routed again, coalesced into one flush; what already has a message is not posted twice, and
//! an approval decided after a restart edits the message recorded for it. Before the bridge
//! ever ran on a store there is no cursor: the open concerns and pending approvals that have
//! no message yet are posted.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::alerts::{self, Alert, Channel};
use super::link::{CoreLink, Feed};
use super::message::Message;
use super::rest::{Rest, RestError, WebhookUrl};
use crate::config::{DiscordChannels, TimeOfDay};
use crate::protocol::model::{ApprovalId, ConcernId, ConcernStatus};
use crate::protocol::report::StatusReport;
use crate::protocol::{Command, Origin, State};
use crate::store::bridge::{Cursor, Ledger, LinkKind};

/// Where alerts go.
#[derive(Debug, Clone)]
pub enum Destination {
    Bot(DiscordChannels),
    Webhook(WebhookUrl),
}

/// What the outbox has done, for tests and the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub posted: u64,
    pub edited: u64,
    pub failed: u64,
    pub dropped: u64,
}

pub struct Outbox {
    rest: Rest,
    dest: Destination,
    link: CoreLink,
    coalesce: Duration,
    daily_at: Option<TimeOfDay>,
    state: State,
    /// What is to be delivered, each with the event it came from.
    pending: VecDeque<(u64, Alert)>,
    /// Messages posted for concerns (from the ledger, and those whose `/link` event has not
    /// come back yet).
    posted_concerns: HashMap<ConcernId, u64>,
    /// Messages posted for approvals (the ledger's copy: the core has no field for them).
    approvals: HashMap<ApprovalId, u64>,
    /// The bridge's ledger in the store (none in the demo).
    ledger: Option<Ledger>,
    /// The last event routed into `pending` (or found to need nothing).
    routed: u64,
    /// The delivery cursor as stored (`None`: none stored yet).
    cursor: Option<Cursor>,
    /// (event, record) of the events read back from the store, for the cursor's record mark.
    marks: VecDeque<(u64, u64)>,
    counts: watch::Sender<Counts>,
    /// The longest `retry_after` Discord asked for in the last flush (the next attempt waits
    /// at least that long).
    hold: Duration,
}

/// The longest pause between attempts to deliver what failed.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

fn parse_id(s: &str) -> Option<u64> {
    s.parse().ok()
}

pub use crate::config::until_next;

fn transient(e: &RestError) -> bool {
    matches!(
        e,
        RestError::RateLimited { .. } | RestError::Server { .. } | RestError::Transport { .. }
    )
}

impl Outbox {
    pub fn new(
        rest: Rest,
        dest: Destination,
        link: CoreLink,
        coalesce: Duration,
        daily_at: Option<TimeOfDay>,
        ledger: Option<Ledger>,
    ) -> (Outbox, watch::Receiver<Counts>) {
        let (counts, rx) = watch::channel(Counts::default());
        let links = |kind| {
            ledger
                .as_ref()
                .map(|l: &Ledger| {
                    l.links(kind).unwrap_or_else(|e| {
                        tracing::warn!("discord: {e}");
                        HashMap::new()
                    })
                })
                .unwrap_or_default()
        };
        let posted_concerns = links(LinkKind::Concern)
            .into_iter()
            .filter_map(|(id, m)| Some((id.parse().ok()?, m)))
            .collect();
        let approvals = links(LinkKind::Approval)
            .into_iter()
            .filter_map(|(id, m)| Some((id.parse().ok()?, m)))
            .collect();
        (
            Outbox {
                rest,
                dest,
                link,
                coalesce,
                daily_at,
                state: State::default(),
                pending: VecDeque::new(),
                posted_concerns,
                approvals,
                ledger,
                routed: 0,
                cursor: None,
                marks: VecDeque::new(),
                counts,
                hold: Duration::ZERO,
            },
            rx,
        )
    }

    fn buttons(&self) -> bool {
        matches!(self.dest, Destination::Bot(_))
    }

    fn channel_id(&self, channel: Channel) -> Option<u64> {
        let Destination::Bot(c) = &self.dest else {
            return None;
        };
        let id = match channel {
            Channel::Concerns => &c.concerns,
            Channel::Approvals => &c.approvals,
            Channel::Updates => &c.updates,
            Channel::Health => &c.health,
        };
        id.as_ref().and_then(|s| parse_id(&s.0))
    }

    /// Whether alerts for `channel` go anywhere.
    fn wanted(&self, channel: Channel) -> bool {
        match &self.dest {
            Destination::Webhook(_) => true,
            Destination::Bot(_) => self.channel_id(channel).is_some(),
        }
    }

    async fn post(&self, channel: Channel, message: &Message) -> Result<u64, RestError> {
        match &self.dest {
            Destination::Webhook(hook) => self.rest.execute_webhook(hook, message).await,
            Destination::Bot(_) => {
                let id = self.channel_id(channel).unwrap_or_default();
                self.rest.post_channel_message(id, message).await
            }
        }
    }

    async fn edit(&self, channel: Channel, mid: u64, message: &Message) -> Result<(), RestError> {
        match &self.dest {
            Destination::Webhook(hook) => self.rest.edit_webhook_message(hook, mid, message).await,
            Destination::Bot(_) => {
                let id = self.channel_id(channel).unwrap_or_default();
                self.rest.edit_channel_message(id, mid, message).await
            }
        }
    }

    fn count(&self, f: impl FnOnce(&mut Counts)) {
        self.counts.send_modify(f);
    }

    /// Runs until the feed ends or `shutdown` turns true; what is queued then is flushed once.
    pub async fn run(
        mut self,
        mut feed: mpsc::UnboundedReceiver<Feed>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        match self.link.snapshot().await {
            Ok(s) => self.state = s,
            Err(e) => tracing::warn!("discord: no snapshot of the core yet: {e}"),
        }
        self.start_catch_up();
        let mut due: Option<Instant> =
            (!self.pending.is_empty()).then(|| Instant::now() + self.coalesce);
        let mut backoff = Duration::from_secs(1);
        let mut daily = self.next_daily();
        loop {
            let wake = due.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let daily_wake = daily.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                f = feed.recv() => match f {
                    Some(Feed::Event(e)) => {
                        // Every event of the feed is routed once. One a snapshot already
                        // holds (taken after the subscription began) is routed without being
                        // applied again.
                        if e.seq > self.state.last_event_seq + 1 {
                            // Missed events (or no snapshot yet: the owner was away at
                            // start): the snapshot has what they changed, and their alerts
                            // are read back from the store.
                            self.resync().await;
                        }
                        if e.seq > self.state.last_event_seq {
                            self.state.apply(&e);
                        }
                        // Once the core holds a concern's message, this copy is not needed.
                        if let crate::protocol::EventKind::ConcernMessageLinked { id, .. } = &e.kind {
                            self.posted_concerns.remove(id);
                        }
                        // An event read back from the store already was routed.
                        if e.seq > self.routed {
                            self.routed = e.seq;
                            let routed = alerts::route(&e, &self.state);
                            self.pending.extend(routed.into_iter().map(|a| (e.seq, a)));
                        }
                        if !self.pending.is_empty() {
                            due.get_or_insert_with(|| Instant::now() + self.coalesce);
                        }
                    }
                    Some(Feed::Gap) => {
                        self.resync().await;
                        if !self.pending.is_empty() {
                            due.get_or_insert_with(|| Instant::now() + self.coalesce);
                        }
                    }
                    None => break,
                },
                _ = tokio::time::sleep_until(wake), if due.is_some() => {
                    let ok = self.flush().await;
                    self.advance_cursor();
                    if ok {
                        due = None;
                        backoff = Duration::from_secs(1);
                    } else {
                        // Not before Discord's own retry_after, when it gave one.
                        due = Some(Instant::now() + backoff.max(self.hold));
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
                _ = tokio::time::sleep_until(daily_wake), if daily.is_some() => {
                    self.daily_summary().await;
                    daily = self.next_daily();
                }
                r = shutdown.changed() => {
                    if r.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
            }
        }
        if !self.pending.is_empty() {
            self.flush().await;
        }
        self.advance_cursor();
    }

    async fn resync(&mut self) {
        match self.link.snapshot().await {
            Ok(s) => {
                self.state = s;
                let from = Cursor {
                    event: self.routed,
                    record: self.cursor.map(|c| c.record).unwrap_or(0),
                };
                self.catch_up(from);
            }
            Err(e) => tracing::warn!("discord: cannot take a snapshot of the core: {e}"),
        }
    }

    /// At start: the events after the stored cursor are routed again; before the bridge ever
    /// ran on this store, what is open and has no message yet is posted.
    fn start_catch_up(&mut self) {
        let through = self.state.last_event_seq;
        let stored = match self.ledger.as_ref().map(Ledger::cursor) {
            // No ledger (the demo): the feed is routed as it comes.
            None => return,
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                tracing::warn!("discord: {e}; starting from the open concerns and approvals");
                None
            }
        };
        match stored {
            Some(c) => {
                self.cursor = Some(c);
                // Delivered through the cursor, whatever the snapshot holds.
                self.routed = c.event;
                self.catch_up(c);
            }
            None => {
                self.routed = through;
                for c in self.state.concerns.values() {
                    if c.status != ConcernStatus::Resolved
                        && c.discord_message_id.is_none()
                        && !self.posted_concerns.contains_key(&c.id)
                    {
                        self.pending.push_back((through, Alert::PostConcern(c.id)));
                    }
                }
                for a in self.state.approvals.values() {
                    if a.decision.is_none() && !self.approvals.contains_key(&a.id) {
                        self.pending.push_back((through, Alert::PostApproval(a.id)));
                    }
                }
                if self.pending.is_empty() {
                    self.advance_cursor();
                }
            }
        }
    }

    /// Routes the events after `from` up to the state's last one, read from the store.
    fn catch_up(&mut self, from: Cursor) {
        let through = self.state.last_event_seq;
        let Some(ledger) = &self.ledger else {
            self.routed = self.routed.max(through);
            return;
        };
        let events = match ledger.events_after(from, through) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("discord: cannot read the missed events: {e}");
                self.routed = self.routed.max(through);
                return;
            }
        };
        if !events.is_empty() {
            tracing::info!(
                events = events.len(),
                from = from.event,
                "discord: catching up with the audit trail"
            );
        }
        for (record, e) in events {
            self.marks.push_back((e.seq, record));
            self.routed = self.routed.max(e.seq);
            let routed = alerts::route(&e, &self.state);
            self.pending.extend(routed.into_iter().map(|a| (e.seq, a)));
        }
        self.routed = self.routed.max(through);
    }

    /// Moves the stored cursor to the last event all of whose alerts were delivered.
    fn advance_cursor(&mut self) {
        let Some(ledger) = &self.ledger else {
            return;
        };
        let event = match self.pending.iter().map(|(s, _)| *s).min() {
            Some(first) => first.saturating_sub(1),
            None => self.routed,
        };
        let stored = self.cursor;
        let mut record = stored.map(|c| c.record).unwrap_or(0);
        while let Some(&(e, r)) = self.marks.front() {
            if e > event {
                break;
            }
            record = record.max(r);
            self.marks.pop_front();
        }
        let next = Cursor { event, record };
        // Never backwards, and written only when it moves.
        if stored.is_some_and(|c| c == next || c.event > event) {
            return;
        }
        match ledger.set_cursor(next) {
            Ok(()) => self.cursor = Some(next),
            Err(e) => tracing::warn!("discord: cannot record what was delivered: {e}"),
        }
    }

    fn remember(&self, kind: LinkKind, id: &str, mid: u64) {
        if let Some(l) = &self.ledger {
            if let Err(e) = l.link(kind, id, mid) {
                tracing::warn!("discord: cannot record the message of {id}: {e}");
            }
        }
    }

    fn next_daily(&self) -> Option<Instant> {
        let wait = until_next(self.daily_at?, time::OffsetDateTime::now_utc())?;
        Some(Instant::now() + wait)
    }

    /// The daily summary on the health channel: the status as an embed.
    async fn daily_summary(&mut self) {
        if !self.wanted(Channel::Health) {
            return;
        }
        let report = StatusReport::from_state(&self.state, &crate::core::now());
        let day = time::OffsetDateTime::now_utc().date();
        let m = Message::embed(alerts::status_embed(
            &report,
            &format!("Daily summary {day}"),
        ))
        .fitted();
        match self.post(Channel::Health, &m).await {
            Ok(_) => self.count(|c| c.posted += 1),
            Err(e) => {
                tracing::warn!("discord: the daily summary was not posted: {e}");
                self.count(|c| c.failed += 1);
            }
        }
    }

    /// Posts and edits what is queued. False when something failed for now (it stays queued).
    async fn flush(&mut self) -> bool {
        self.hold = Duration::ZERO;
        let first = self.pending.iter().map(|(s, _)| *s).min().unwrap_or(0);
        let work: Vec<Alert> = self.pending.drain(..).map(|(_, a)| a).collect();
        let mut retry: Vec<Alert> = Vec::new();

        // New concerns, several to a message, in the order raised.
        let mut new_concerns: Vec<ConcernId> = Vec::new();
        let mut edit_concerns: Vec<ConcernId> = Vec::new();
        let mut new_approvals: Vec<ApprovalId> = Vec::new();
        let mut edit_approvals: Vec<ApprovalId> = Vec::new();
        let mut lines: BTreeMap<Channel, Vec<String>> = BTreeMap::new();
        for a in work {
            match a {
                Alert::PostConcern(id) if !new_concerns.contains(&id) => new_concerns.push(id),
                Alert::EditConcern(id) if !edit_concerns.contains(&id) => edit_concerns.push(id),
                Alert::PostApproval(id) if !new_approvals.contains(&id) => new_approvals.push(id),
                Alert::EditApproval(id) if !edit_approvals.contains(&id) => edit_approvals.push(id),
                Alert::Line(ch, l) if !l.is_empty() => lines.entry(ch).or_default().push(l),
                _ => {}
            }
        }
        // A concern posted now shows its current status: no edit needed.
        edit_concerns.retain(|id| !new_concerns.contains(id));
        edit_approvals.retain(|id| !new_approvals.contains(id));

        if self.wanted(Channel::Concerns) {
            let fresh: Vec<ConcernId> = new_concerns
                .into_iter()
                .filter(|id| {
                    self.state
                        .concerns
                        .get(id)
                        .is_some_and(|c| c.discord_message_id.is_none())
                        && !self.posted_concerns.contains_key(id)
                })
                .collect();
            for group in fresh.chunks(alerts::CONCERNS_PER_MESSAGE) {
                let concerns: Vec<_> = group
                    .iter()
                    .filter_map(|id| self.state.concerns.get(id))
                    .collect();
                let m = alerts::concerns_message(&concerns, self.buttons());
                match self.post(Channel::Concerns, &m).await {
                    Ok(mid) => {
                        self.count(|c| c.posted += 1);
                        for id in group {
                            self.posted_concerns.insert(*id, mid);
                            self.remember(LinkKind::Concern, &id.to_string(), mid);
                        }
                        self.link_concerns(group.to_vec(), mid);
                    }
                    Err(e) => self.failed(
                        &e,
                        group.iter().map(|id| Alert::PostConcern(*id)),
                        &mut retry,
                    ),
                }
            }
            // Edits: each message once, with every concern it shows.
            let mut done: Vec<u64> = Vec::new();
            for id in edit_concerns {
                let Some(mid) = self.concern_message(id) else {
                    continue;
                };
                if done.contains(&mid) {
                    continue;
                }
                done.push(mid);
                let mut ids = alerts::concern_group(&self.state, &mid.to_string());
                for (cid, m) in &self.posted_concerns {
                    if *m == mid && !ids.contains(cid) {
                        ids.push(*cid);
                    }
                }
                ids.sort();
                let concerns: Vec<_> = ids
                    .iter()
                    .filter_map(|i| self.state.concerns.get(i))
                    .collect();
                let m = alerts::concerns_message(&concerns, self.buttons());
                match self.edit(Channel::Concerns, mid, &m).await {
                    Ok(()) => self.count(|c| c.edited += 1),
                    Err(e) => self.failed(&e, [Alert::EditConcern(id)], &mut retry),
                }
            }
        }

        if self.wanted(Channel::Approvals) {
            for id in new_approvals {
                if self.approvals.contains_key(&id) {
                    continue;
                }
                let Some(a) = self.state.approvals.get(&id) else {
                    continue;
                };
                let m = alerts::approval_message(a, self.buttons());
                match self.post(Channel::Approvals, &m).await {
                    Ok(mid) => {
                        self.count(|c| c.posted += 1);
                        self.approvals.insert(id, mid);
                        self.remember(LinkKind::Approval, &id.to_string(), mid);
                    }
                    Err(e) => self.failed(&e, [Alert::PostApproval(id)], &mut retry),
                }
            }
            for id in edit_approvals {
                let (Some(&mid), Some(a)) =
                    (self.approvals.get(&id), self.state.approvals.get(&id))
                else {
                    continue;
                };
                let m = alerts::approval_message(a, self.buttons());
                match self.edit(Channel::Approvals, mid, &m).await {
                    Ok(()) => self.count(|c| c.edited += 1),
                    Err(e) => self.failed(&e, [Alert::EditApproval(id)], &mut retry),
                }
            }
        }

        for (channel, lines) in lines {
            if !self.wanted(channel) {
                continue;
            }
            let messages = alerts::lines_messages(&lines);
            let mut sent = 0;
            for m in &messages {
                match self.post(channel, m).await {
                    Ok(_) => {
                        self.count(|c| c.posted += 1);
                        sent += 1;
                    }
                    Err(e) => {
                        // What is left of this channel's lines goes again later.
                        let rest: Vec<Alert> = messages[sent..]
                            .iter()
                            .filter_map(|m| m.content.clone())
                            .map(|l| Alert::Line(channel, l))
                            .collect();
                        self.failed(&e, rest, &mut retry);
                        break;
                    }
                }
            }
        }

        let ok = retry.is_empty();
        // What goes again keeps the batch's first event: the cursor stays before it.
        self.pending.extend(retry.into_iter().map(|a| (first, a)));
        ok
    }

    fn failed(
        &mut self,
        e: &RestError,
        alerts: impl IntoIterator<Item = Alert>,
        retry: &mut Vec<Alert>,
    ) {
        if let RestError::RateLimited { retry_after, .. } = e {
            self.hold = self.hold.max(*retry_after);
        }
        if transient(e) {
            tracing::warn!("discord: an alert will be tried again: {e}");
            self.count(|c| c.failed += 1);
            retry.extend(alerts);
        } else {
            tracing::error!("discord: an alert was refused and dropped: {e}");
            self.count(|c| c.dropped += 1);
        }
    }

    fn concern_message(&self, id: ConcernId) -> Option<u64> {
        self.state
            .concerns
            .get(&id)
            .and_then(|c| c.discord_message_id.as_deref())
            .and_then(parse_id)
            .or_else(|| self.posted_concerns.get(&id).copied())
    }

    /// Records in the core which message shows each concern (in the background: posting
    /// does not wait on the core's writes).
    fn link_concerns(&self, ids: Vec<ConcernId>, mid: u64) {
        let link = self.link.clone();
        tokio::spawn(async move {
            for id in ids {
                let r = link
                    .submit(
                        Origin::System,
                        Command::LinkMessage {
                            concern: id,
                            message: mid.to_string(),
                        },
                    )
                    .await;
                if !r.ok {
                    tracing::warn!("discord: cannot record the message of {id}: {}", r.message);
                }
            }
        });
    }
}
