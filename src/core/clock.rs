//! The audit trail's clock: the current time and timestamps as the trail writes and reads
//! them (RFC 3339, UTC, milliseconds); and the owner's scheduled jobs' wait until their next
//! time, cut short by the stop signal.

/// The current time as the audit trail writes it: RFC 3339, UTC, milliseconds.
pub fn now() -> String {
    stamp(time::OffsetDateTime::now_utc())
}

/// A time as the audit trail writes it: RFC 3339, UTC, milliseconds.
pub fn stamp(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&fmt)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Reads a timestamp of the audit trail back (`None` for anything that is not RFC 3339).
pub fn parse_stamp(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// Waits `wait`, or less when `stop` turns true (or its sender is gone): whether to go on.
/// What the owner's scheduled jobs (the digest, the janitor, discovery) wait with.
pub async fn sleep_or_stop(
    wait: std::time::Duration,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if *stop.borrow() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return true,
            r = stop.changed() => {
                if r.is_err() {
                    return false;
                }
            }
        }
    }
}

/// Waits until the next time `cron` names (UTC), or less when `stop` turns true: whether to
/// go on (false also when the expression names no time ahead).
pub async fn sleep_until_next(
    cron: &crate::deps::cron::Cron,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    let now = time::OffsetDateTime::now_utc();
    let Some(next) = cron.next_after(now) else {
        return false;
    };
    let wait = std::time::Duration::try_from(next - now).unwrap_or_default();
    sleep_or_stop(wait, stop).await
}
