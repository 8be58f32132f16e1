//! A time of day `HH:MM` (UTC) in the configuration, checked where the file is read, and how
//! long until it next comes round.

use serde::Deserialize;

/// A time of day `HH:MM` (UTC), checked where the file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOfDay {
    pub hour: u8,
    pub minute: u8,
}

impl serde::Serialize for TimeOfDay {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", self.hour, self.minute))
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let parsed = text.split_once(':').and_then(|(h, m)| {
            let (h, m) = (h.parse::<u8>().ok()?, m.parse::<u8>().ok()?);
            (h < 24 && m < 60 && text.len() == 5).then_some(TimeOfDay { hour: h, minute: m })
        });
        parsed.ok_or_else(|| {
            serde::de::Error::custom(format!("{text:?} is not a time of day HH:MM (UTC)"))
        })
    }
}

/// How long from `now` until the next `at` (UTC); tomorrow's when today's has passed.
pub fn until_next(at: TimeOfDay, now: time::OffsetDateTime) -> Option<std::time::Duration> {
    let now = now.to_offset(time::UtcOffset::UTC);
    let today = now.replace_time(time::Time::from_hms(at.hour, at.minute, 0).ok()?);
    let next = if today > now {
        today
    } else {
        today + time::Duration::days(1)
    };
    Some(std::time::Duration::from_millis(
        (next - now).whole_milliseconds().max(0) as u64,
    ))
}
