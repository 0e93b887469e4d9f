//! Findings: the one value every check returns, and the severities that decide exit codes.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use serde::Serialize;

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never fails a run.
    Info,
    /// Probably wrong; fails a run only with `--fail-on warning`.
    Warning,
    /// Wrong; fails the run.
    Error,
}

impl Severity {
    /// The lowercase name used in output and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a finding points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Location {
    /// A file, optionally narrowed to a byte span of its contents.
    File {
        /// Path of the file, as discovered (relative paths stay relative to the project root).
        path: PathBuf,
        /// Byte range into the file's contents.
        #[serde(skip_serializing_if = "Option::is_none")]
        span: Option<Range<usize>>,
    },
    /// An object in a database, such as a history table row.
    Database {
        /// Qualified object name, for example `_sqlx_migrations (version 20240101000000)`.
        object: String,
    },
}

impl Location {
    /// A whole file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Location::File { path: path.into(), span: None }
    }

    /// A byte span of a file.
    pub fn span(path: impl Into<PathBuf>, span: Range<usize>) -> Self {
        Location::File { path: path.into(), span: Some(span) }
    }

    /// A database object.
    pub fn database(object: impl Into<String>) -> Self {
        Location::Database { object: object.into() }
    }
}

/// One thing a check found: a stable code, a severity, what is wrong, where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable kebab-case identifier, documented in `docs/findings.md`.
    pub code: &'static str,
    /// How serious it is.
    pub severity: Severity,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// Where it is, when it is somewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// SQL that would fix it, for the user to review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_sql: Option<String>,
}

impl Finding {
    /// A finding with no location, help or fix yet.
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Finding { code, severity, message: message.into(), location: None, help: None, fix_sql: None }
    }

    /// Attach a location.
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Attach help text.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Attach fix SQL.
    pub fn fix_sql(mut self, sql: impl Into<String>) -> Self {
        self.fix_sql = Some(sql.into());
        self
    }
}

/// The highest severity among `findings`, if any.
pub fn max_severity(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_from_info_to_error() {
        assert!(Severity::Info < Severity::Warning);
        assert!(Severity::Warning < Severity::Error);
        let fs = vec![Finding::new("a", Severity::Warning, "w"), Finding::new("b", Severity::Info, "i")];
        assert_eq!(max_severity(&fs), Some(Severity::Warning));
        assert_eq!(max_severity(&[]), None);
    }

    #[test]
    fn finding_serializes_without_empty_fields() {
        let f = Finding::new("migration-pending", Severity::Warning, "pending")
            .at(Location::span("migrations/1_a.sql", 3..7));
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["location"]["kind"], "file");
        assert_eq!(json["location"]["span"]["start"], 3);
        assert!(json.get("help").is_none());
    }
}
