//! The median (task impl-median of the demo's plan writes it).
