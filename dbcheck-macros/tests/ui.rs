//! trybuild UI tests for `#[schema_guard]`: passing cases for every type mapping on PostgreSQL
//! and SQLite, and failing cases for every error kind with the expected diagnostics
//! (`ui/*.stderr`, blessed with `TRYBUILD=overwrite` and reviewed).
//!
//! trybuild compiles the cases inside a generated crate under `target/tests/trybuild/`, so the
//! macro is pointed at the fixture project with `DBCHECK_MANIFEST_DIR` (see
//! `docs/schema-guard.md`): `tests/fixtures/` has a `dbcheck.toml` that configures the
//! PostgreSQL migrations in `postgres/`; SQLite cases select `sqlite/` with the attribute.

use std::path::Path;
use std::process::Command;

const CASES: [&str; 10] = [
    "missing_column",
    "nullable_not_option",
    "option_on_not_null",
    "incompatible_type",
    "enum_and_custom_types",
    "unknown_table",
    "bad_attribute",
    "not_exhaustive_not_insertable",
    "multiple_errors",
    "sqlite_mismatches",
];

#[test]
fn ui() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    // The variable must be in trybuild's cargo's environment. Setting it in this process is
    // unsafe code (forbidden here), so the test runs itself again with it set.
    if std::env::var_os("DBCHECK_MANIFEST_DIR").as_deref() != Some(fixtures.as_os_str()) {
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["ui", "--exact", "--nocapture", "--test-threads=1"])
            .env("DBCHECK_MANIFEST_DIR", &fixtures)
            .status()
            .unwrap();
        assert!(status.success(), "the UI tests failed (output above)");
        return;
    }
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    for case in CASES {
        t.compile_fail(format!("tests/ui/{case}.rs"));
    }
}
