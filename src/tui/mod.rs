//! The console (ratatui): state comes only from the core's event stream, every screen is a
//! pure function of (state, view state, theme, area), and frames are drawn only when
//! something changed.

pub mod keymap;
pub mod theme;
pub mod warning;

pub use warning::Warning;
