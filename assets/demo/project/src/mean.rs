//! The arithmetic mean (task impl-mean of the demo's plan writes it).
