//! `overlord-tui`: the command line entry point (see `overlord::cli`).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    overlord::cli::main()
}
