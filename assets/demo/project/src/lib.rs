//! `tally`: small statistics over slices.

pub mod mean;
pub mod median;
