//! `cargo dbcheck`: the command-line edge over `dbcheck-core`.

mod ci_formats;
mod cli;
mod commands;
mod exit;
mod monitor;
mod render;

fn main() -> std::process::ExitCode {
    cli::main()
}
