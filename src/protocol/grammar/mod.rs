//! The slash grammar shared by the command bar, the CLI (`overlord-tui cmd`), Discord's
//! `/overlord line:` and agents: `parse` turns a line into a `Command`, `print` turns a
//! `Command` back into a line that parses to the same command.
//!
//! Words are separated by white space. A word that starts with `"` is a quoted string with
//! the escapes `\\ \" \n \r \t \u{…}`. Commands that take flags accept `--name value` (or
//! `--name=value`) anywhere; a lone `--` ends the flags. A trailing free-text argument takes
//! the rest of the line as typed, or exactly one quoted string.
//!
//! `spec` lists the commands, `tokens` splits a line into words, `args` takes a command's
//! flags and words, `parse` and `print` go each way, `error` is what a bad line gets back.

mod args;
mod error;
mod parse;
mod print;
mod spec;
mod tokens;

pub use error::ParseError;
pub use parse::parse;
pub use print::{print, quote};
pub use spec::{help_entries, spec, CommandSpec, COMMANDS};
pub use tokens::is_ident;
