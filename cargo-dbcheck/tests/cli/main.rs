//! The `cargo-dbcheck` binary driven end to end on temporary projects: exit codes, output formats,
//! hostile input and secrets. Database cases use the real-database harness.
#![expect(clippy::unwrap_used, reason = "test helpers fail the test loudly on setup errors")]

mod backup;
mod ci_formats;
mod declared;
mod diff;
mod docs;
mod drift;
mod files;
mod hook;
mod hostile;
mod integrity;
mod lint;
mod migrate;
mod monitor;
mod output;
mod project;
mod reference;
mod schema;
mod static_schema;
mod status;
mod validate;
