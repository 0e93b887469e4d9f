//! Data-aware lint: with a database, the data-dependent rule's findings say how many live rows
//! would violate the constraint being added (the pre-flight queries of `migrate deploy`).

use std::path::Path;

use super::LintReport;
use crate::db::{Db, DbError};
use crate::migrate::CheckKind;
use crate::migrations::Discovery;
use crate::replay::replayed_migrations;
use crate::report::Severity;

/// The id of the data-dependent rule whose findings get counts.
pub const DATA_RULE: &str = "constraint-on-existing-data";

/// Samples shown per counted finding.
const SAMPLES: usize = 3;

/// Count the violating rows behind each `constraint-on-existing-data` finding of `report`: an
/// error when rows would violate, `info` when none do today. Read-only.
pub async fn count_violations(db: &mut Db, discovery: &Discovery, report: &mut LintReport) -> Result<(), DbError> {
    let wanted: Vec<&Path> = report
        .findings
        .iter()
        .filter(|f| f.rule == DATA_RULE)
        .filter_map(|f| match &f.finding.location {
            Some(crate::Location::File { path, .. }) => Some(path.as_path()),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let migrations: Vec<_> =
        replayed_migrations(discovery).into_iter().filter(|m| wanted.contains(&m.path.as_path())).collect();
    let plan = crate::migrate::plan_preflight(&migrations, db.dialect());
    for f in report.findings.iter_mut().filter(|f| f.rule == DATA_RULE) {
        let Some(crate::Location::File { path, .. }) = &f.finding.location else { continue };
        // One statement may need several checks (`ADD PRIMARY KEY`: NULLs and duplicates; MySQL
        // `MODIFY … NOT NULL`: lengths and NULLs): every one runs, every violation is told.
        let checks: Vec<_> = plan.checks.iter().filter(|c| &c.path == path && c.span == f.statement).collect();
        if checks.is_empty() {
            continue;
        }
        let mut found = Vec::new();
        let mut failed = Vec::new();
        for check in checks {
            match db.preflight_check(check, SAMPLES).await? {
                Ok(count) if count.violations > 0 => {
                    let what = match &check.kind {
                        CheckKind::Unique { .. } => {
                            format!("{} duplicate groups ({} rows)", count.violations, count.rows)
                        }
                        _ => format!("{} live rows", count.violations),
                    };
                    let samples = if count.samples.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", count.samples.join(", "))
                    };
                    found.push(format!("{what} ({}){samples}", check.kind.code()));
                }
                Ok(_) => {}
                Err(reason) => failed.push(reason),
            }
        }
        if !found.is_empty() {
            f.finding.severity = Severity::Error;
            f.finding.message = format!("{}: would fail on {}", f.finding.message, found.join("; "));
        } else if failed.is_empty() {
            f.finding.severity = Severity::Info;
            f.finding.message = format!("{}: no live row violates it today", f.finding.message);
        } else {
            f.finding.message =
                format!("{} (could not count the violating rows: {})", f.finding.message, failed.join("; "));
        }
    }
    Ok(())
}
