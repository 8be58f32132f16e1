//! The QA policy file, `.overlord/QA_POLICY.yaml`: its typed model, loading with defaults,
//! and validation that reports every problem at its file, line and column.
//!
//! Two shapes are accepted and give the same [`Policy`]:
//!
//! * seed 000: `auto_merge_if`, `require_human_if` and `promotion_policy` as mappings at the
//!   top level (the default file, [`crate::config::DEFAULT_QA_POLICY`]);
//! * seed 001: `auto_merge_if` and `require_human_if` as lists of one-condition entries
//!   (`- coverage_min: 80`), possibly under a `merge_policy:` key.
//!
//! What is absent:
//!
//! * an empty file (or one holding only comments, or `~`) is YAML null: every section is
//!   absent and the policy is [`Policy::default`];
//! * a section that is absent (or null) takes its defaults, the values of the default file;
//! * in a section that is present, a condition left out is off: a threshold is `None`
//!   (measured and reported, but it does not block) and a flag is `false`, except
//!   `auto_merge_if.no_open_critical_concerns`, which stays `true` unless set to `false`, and
//!   the `gates` settings, which each keep their own default;
//! * a key given with no value (`coverage_min:` or `coverage_min: ~`) counts as left out.
//!
//! A malformed file is refused: [`parse`] returns every problem it finds (unknown keys with a
//! suggestion, wrong types, values out of range, keys given twice), each located at the
//! offending key or value. A YAML syntax error stops the reading where the parser stopped, so
//! it is reported alone.

mod defaults;
mod error;
mod load;
mod model;
mod validate;
mod values;
mod yaml;

pub use error::PolicyError;
pub use load::{load, load_as, parse, FILE_NAME};
pub use model::{AutoMergeIf, GateSettings, NotMeasured, Policy, PromotionPolicy, RequireHumanIf};
