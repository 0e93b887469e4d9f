//! `integrity` against real PostgreSQL, SQLite and MariaDB databases.
//!
//! `rules` seeds a violation of every rule kind into a small marketplace and wants exact counts,
//! samples and thresholds; `scans` proves one aggregate query per table whatever the number of
//! counting rules (PostgreSQL also by the server's own `seq_scan` counter); `hostile` uses table,
//! column and value names full of quotes, semicolons and unicode; `derived` leaves NOT VALID
//! constraints and an INVALID index behind.
#![expect(clippy::unwrap_used, reason = "scenario helpers fail the test loudly on setup errors")]

mod derived;
mod hostile;
mod rules;
mod scans;

use dbcheck_core::db::{ConnectOptions, DatabaseUrl, Db, connect};
use dbcheck_core::integrity::{IntegrityConfig, IntegrityOptions, IntegrityReport, RuleReport, check_config};
use dbcheck_tests::TestDb;

pub(crate) use dbcheck_tests::per_backend;

/// A read-only connection to the test database.
pub(crate) async fn open(db: &TestDb) -> Db {
    let url = DatabaseUrl::parse(db.url()).unwrap();
    connect(&url, &ConnectOptions::default()).await.unwrap()
}

/// Parse `[integrity]` TOML and validate it as configuration loading does.
pub(crate) fn config(toml_text: &str) -> IntegrityConfig {
    let c: IntegrityConfig = toml::from_str(toml_text).unwrap();
    dbcheck_core::integrity::config::validate(&c).unwrap();
    c
}

/// Run the check with default options.
pub(crate) async fn run(db: &TestDb, c: &IntegrityConfig) -> IntegrityReport {
    let mut conn = open(db).await;
    let report = check_config(&mut conn, c, &[], &IntegrityOptions::default()).await.unwrap();
    conn.close().await;
    report
}

/// The rule with `id`.
pub(crate) fn rule<'a>(r: &'a IntegrityReport, id: &str) -> &'a RuleReport {
    r.rules.iter().find(|x| x.id == id).unwrap_or_else(|| panic!("no rule {id} in {:#?}", r.rules))
}

/// Samples as `(key, value)` pairs.
pub(crate) fn samples(r: &RuleReport) -> Vec<(Option<&str>, Option<&str>)> {
    r.samples.iter().map(|s| (s.key.as_deref(), s.value.as_deref())).collect()
}
