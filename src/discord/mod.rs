//! The Discord bridge.

pub mod slash;
