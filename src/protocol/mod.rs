//! Pure data shared by the core and every front end: the `Command` vocabulary and its text
//! grammar, sequence-numbered `Event`s, the model types, the state and its reducer. No I/O,
//! no clock, no UI: this module depends on serde (and a string-distance helper) only.

pub mod command;
pub mod diff;
pub mod documents;
pub mod event;
mod event_parse;
pub mod grammar;
mod holds;
pub mod ids;
pub mod items;
pub mod model;
pub mod permission;
pub mod report;
pub mod retention;
pub mod state;
pub mod visible;

pub use command::{
    Command, CommandRecord, ConcernDraft, HandoffDraft, Origin, RejectCode, Rejection, Reply,
    Target, VariationDraft,
};
pub use event::{Event, EventKind, Topic};
pub use grammar::{parse, print, ParseError};
pub use report::{ReplyData, StatusReport};
pub use state::State;

/// The closest of `candidates` to `input`, if one is close enough to be what was meant.
pub fn suggest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let input_lc = input.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let d = strsim::damerau_levenshtein(&input_lc, &candidate.to_ascii_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, candidate));
        }
    }
    let (distance, candidate) = best?;
    let limit = (input.chars().count().max(candidate.chars().count()) / 3).max(1);
    (distance <= limit && distance > 0 || (distance == 0 && input != candidate))
        .then(|| candidate.to_string())
}
