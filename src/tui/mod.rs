//! The console (ratatui): state comes only from the core's event stream, every screen is a
//! pure function of (state, view state, theme, area), and frames are drawn only when
//! something changed.

pub mod alert;
pub mod app;
pub mod command_bar;
pub mod command_view;
pub mod diff_source;
pub mod diff_view;
pub mod help;
pub mod highlight;
pub mod hints;
pub mod history;
pub mod keymap;
pub mod metrics_source;
pub mod panes;
pub mod run;
pub mod screen;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod warning;
pub mod watch;

pub use warning::Warning;
