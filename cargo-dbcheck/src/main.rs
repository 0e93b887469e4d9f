//! `cargo dbcheck`: the command-line edge over `dbcheck-core`.

mod cli;
mod commands;
mod exit;
mod render;

fn main() -> std::process::ExitCode {
    cli::main()
}
