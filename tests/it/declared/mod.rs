//! Declared sources against the migrations: diesel `schema.rs` fixtures written by the real
//! `diesel print-schema` (zero findings, and a finding for every generated mutation), and the
//! live test gates of the facade (`dbcheck::testing`) on real PostgreSQL and SQLite.
#![expect(clippy::unwrap_used, reason = "scenario helpers fail the test loudly on setup errors")]

mod diesel_fixture;
mod gates;

use std::path::{Path, PathBuf};

/// The workspace root.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The reference fixture is real diesel code: it compiles against the `diesel` crate (the types
/// fixture has more columns than diesel's default 16-column tables support).
mod reference_fixture_compiles {
    include!("../../fixtures/diesel/schema.rs");
}
