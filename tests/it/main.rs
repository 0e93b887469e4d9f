//! dbcheck's integration tests: one test binary, a module per area. Database tests use the
//! real-database harness in `dbcheck_tests` (fresh database per test, loud skips, none under CI).

mod backup;
mod declared;
mod files;
mod integrity;
mod lint;
mod lint_locking;
mod migrate;
mod schema;
mod static_schema;
mod status;
