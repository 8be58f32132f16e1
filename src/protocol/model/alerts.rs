//! Alerts raised by the metrics (issue 9; `metrics::evaluate` decides them).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::ConcernId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    Warn,
    Alert,
    Critical,
}

impl AlertLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertLevel::Warn => "warn",
            AlertLevel::Alert => "alert",
            AlertLevel::Critical => "critical",
        }
    }
}

impl fmt::Display for AlertLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AlertLevel::Warn => "WARN",
            AlertLevel::Alert => "ALERT",
            AlertLevel::Critical => "CRITICAL",
        })
    }
}

/// One alert of the metrics: `key` names what it is about (stable, one alert per key), `message` why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub level: AlertLevel,
    pub key: String,
    pub message: String,
    /// The concern that put it in the human's queue (ALERT and CRITICAL; see docs/metrics.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concern: Option<ConcernId>,
}

impl Alert {
    /// The order alerts are shown and recorded in: most severe first, then by key.
    pub fn most_severe_first(a: &Alert, b: &Alert) -> std::cmp::Ordering {
        b.level.cmp(&a.level).then_with(|| a.key.cmp(&b.key))
    }
}
