//! The console (ratatui): state comes only from the core's event stream, every screen is a
//! pure function of (state, view state, theme, area), and frames are drawn only when
//! something changed.

pub mod diff_view;
pub mod highlight;
pub mod theme;
