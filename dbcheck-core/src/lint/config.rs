//! The `[lint]` configuration: rules switched off (or on), severities, the PostgreSQL version the
//! migrations target and the table sizes that data-aware severity uses.
//!
//! ```toml
//! [package.metadata.dbcheck.lint]
//! disable = ["prefer-text", "DL405"]
//! postgres_version = 15
//! severity = { drop-column = "warning" }
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use super::rules::{RuleMeta, all_rules};
use crate::integrity::config::RuleSeverity;
use crate::report::Severity;

/// Default PostgreSQL major version rules assume.
pub const DEFAULT_POSTGRES_VERSION: u32 = 14;

/// `[lint]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LintConfig {
    /// Rules (ids or codes) that do not run.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Rules (ids or codes) that run although off by default.
    #[serde(default)]
    pub enable: Vec<String>,
    /// Severity per rule (id or code).
    #[serde(default)]
    pub severity: BTreeMap<String, RuleSeverity>,
    /// PostgreSQL major version the migrations run on (default 14).
    pub postgres_version: Option<u32>,
    /// With a database: tables with at most this many rows make locking rules `info` (default 1000).
    pub small_table_rows: Option<i64>,
    /// With a database: tables with at least this many rows make locking warnings errors (default 1,000,000).
    pub big_table_rows: Option<i64>,
}

fn names(meta: &RuleMeta, list: &[String]) -> bool {
    list.iter().any(|n| n == meta.id || n.eq_ignore_ascii_case(meta.code))
}

impl LintConfig {
    /// Whether `meta` runs.
    pub fn enabled(&self, meta: &RuleMeta) -> bool {
        if names(meta, &self.disable) {
            return false;
        }
        meta.default_on || names(meta, &self.enable)
    }

    /// The configured severity of `meta`, if any.
    pub fn severity_of(&self, meta: &RuleMeta) -> Option<Severity> {
        self.severity
            .iter()
            .find(|(k, _)| k.as_str() == meta.id || k.eq_ignore_ascii_case(meta.code))
            .map(|(_, s)| s.severity())
    }

    /// PostgreSQL major version.
    pub fn postgres_version(&self) -> u32 {
        self.postgres_version.unwrap_or(DEFAULT_POSTGRES_VERSION)
    }

    /// Row count at or below which a table is small.
    pub fn small_table_rows(&self) -> i64 {
        self.small_table_rows.unwrap_or(1000)
    }

    /// Row count from which a table is big.
    pub fn big_table_rows(&self) -> i64 {
        self.big_table_rows.unwrap_or(1_000_000)
    }
}

/// Check the section: every rule named exists, the version is plausible. `(key, reason)` on error.
pub fn validate(config: &LintConfig) -> Result<(), (&'static str, String)> {
    let known = |n: &str| all_rules().iter().any(|r| r.meta().id == n || r.meta().code.eq_ignore_ascii_case(n));
    for (key, list) in [("lint.disable", &config.disable), ("lint.enable", &config.enable)] {
        if let Some(bad) = list.iter().find(|n| !known(n)) {
            return Err((key, format!("unknown rule `{bad}` (see docs/lint.md for the list)")));
        }
    }
    if let Some(bad) = config.severity.keys().find(|n| !known(n)) {
        return Err(("lint.severity", format!("unknown rule `{bad}` (see docs/lint.md for the list)")));
    }
    if let Some(v) = config.postgres_version
        && !(9..=30).contains(&v)
    {
        return Err(("lint.postgres_version", format!("{v} is not a PostgreSQL major version")));
    }
    Ok(())
}
