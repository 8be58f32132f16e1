//! What the console shows from before it started: the activity log rebuilt from the newest
//! events of the audit store, so that a restarted console looks as it did. Reading is
//! bounded (the newest [`ACTIVITY_ENTRIES`] events, a reverse scan of the store's key), never
//! a replay of the whole history; where the log begins, the activity pane says where the
//! earlier events are. (The agents' raw output is rebuilt from their run logs by the
//! supervisor, before any run of this process writes to them: `RawOutput::from_logs`.)

use crate::protocol::{Event, State};
use crate::store::{Store, StorePaths};

use super::app::App;

/// How many of the newest events the activity log is rebuilt with.
pub const ACTIVITY_ENTRIES: usize = 500;

/// The newest events of the store up to the state's last event (the later ones reach the
/// console through its subscription), oldest first. A record that is not an event is skipped.
pub fn last_events(paths: &StorePaths, through: u64, n: usize) -> Result<Vec<Event>, String> {
    if !paths.db.exists() {
        return Ok(Vec::new());
    }
    let store = Store::open_without_repair(paths).map_err(|e| e.to_string())?;
    let bodies = store.last_event_bodies(n).map_err(|e| e.to_string())?;
    let mut events: Vec<Event> = bodies
        .into_iter()
        .filter_map(|(seq, body)| match serde_json::from_str::<Event>(&body) {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::warn!(seq, error = %e, "a stored event the activity log cannot read");
                None
            }
        })
        .filter(|e| e.seq <= through)
        .collect();
    events.reverse();
    Ok(events)
}

/// The console's app at start: the state, and the activity log as it was before (the
/// newest [`ACTIVITY_ENTRIES`] events of the store). A store that cannot be read leaves the
/// log empty, with a warning on screen: the console still starts.
pub fn app_at_start(state: State, paths: &StorePaths) -> App {
    let through = state.last_event_seq;
    let mut app = App::new(state);
    match last_events(paths, through, ACTIVITY_ENTRIES) {
        Ok(events) => {
            for e in events {
                app.log.push(e);
            }
        }
        Err(e) => app
            .screen
            .warnings
            .push(format!("the activity log could not be rebuilt: {e}")),
    }
    app
}
