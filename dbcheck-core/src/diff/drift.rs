//! Drift: the live database against the schema the migrations produce, each difference explained
//! in terms of how it usually happens (a change by hand or by `db push`, an edited or half-applied
//! migration, a failed `CREATE INDEX CONCURRENTLY`, a forgotten `VALIDATE CONSTRAINT`).

use serde::Serialize;

use super::{Difference, ObjectKind, Presence, Script, diff_schemas, migration_script};
use crate::db::{Db, DbError, IntrospectOptions};
use crate::migrations::Discovery;
use crate::replay::{Replay, ReplayError, ReplayOptions, ReplayTarget, replay_migrations};
use crate::report::{Finding, Location, Severity};
use crate::schema::Schema;

/// The result of a drift check.
#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    /// The schema the migrations produce.
    #[serde(skip)]
    pub expected: Schema,
    /// The live database's schema.
    #[serde(skip)]
    pub actual: Schema,
    /// How the replay went.
    pub replay: ReplaySummary,
    /// Every difference, `from` = the database, `to` = the migrations.
    pub differences: Vec<Difference>,
    /// SQL that brings the database back to the migrations' schema.
    pub fix: Script,
    /// One finding per difference (plus a replay failure, if any).
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

/// A replay, without its schema.
#[derive(Debug, Clone, Serialize)]
pub struct ReplaySummary {
    /// Migrations applied in this run.
    pub applied: usize,
    /// Whether all applied.
    pub complete: bool,
    /// How the cache served it.
    pub cache: crate::replay::CacheUse,
}

impl ReplaySummary {
    /// The summary of `replay`.
    pub fn of(replay: &Replay) -> Self {
        ReplaySummary { applied: replay.applied, complete: replay.complete, cache: replay.cache }
    }
}

/// Failures of a drift check (drift itself is findings).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriftError {
    /// Replay could not run.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The live database could not be read.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Replay `discovery` on `target`, introspect `live`, and compare.
pub async fn detect_drift(
    discovery: &Discovery,
    live: &mut Db,
    target: &ReplayTarget,
    options: &ReplayOptions,
) -> Result<DriftReport, DriftError> {
    let replay = replay_migrations(discovery, target, options).await?;
    let actual = live.introspect(&options.introspect).await?;
    Ok(compare(replay, actual))
}

/// Compare a replay with the live schema.
pub fn compare(replay: Replay, actual: Schema) -> DriftReport {
    let summary = ReplaySummary::of(&replay);
    if !replay.complete {
        // A failed replay says nothing reliable about drift.
        return DriftReport {
            differences: Vec::new(),
            fix: Script::default(),
            findings: replay.findings,
            expected: replay.schema,
            actual,
            replay: summary,
        };
    }
    let differences = diff_schemas(&actual, &replay.schema);
    let fix = migration_script(&actual, &replay.schema);
    let findings = differences.iter().map(drift_finding).collect();
    DriftReport { expected: replay.schema, actual, replay: summary, differences, fix, findings }
}

/// `{live, expected}` introspection options for a project: `schemas` and the configured history
/// table left out.
pub fn introspect_options(schemas: &[String], history_table: Option<&str>) -> IntrospectOptions {
    IntrospectOptions {
        schemas: schemas.to_vec(),
        exclude_tables: history_table.map(str::to_owned).into_iter().collect(),
    }
}

const BY_HAND: &str = "changed by hand or by `db push`";

/// The finding for one drift difference (`from` = database, `to` = migrations).
pub fn drift_finding(d: &Difference) -> Finding {
    let noun = d.kind.noun();
    let obj = &d.object;
    let (code, message, help): (&'static str, String, String) = match (d.kind, d.presence, d.aspect) {
        (ObjectKind::Table, Presence::OnlyInFrom, _) => (
            "drift-table-extra",
            format!("table `{obj}` exists in the database but in no migration: {BY_HAND}"),
            "write a migration that creates it, or drop it from the database (`cargo dbcheck drift --fix`)".into(),
        ),
        (ObjectKind::Table, Presence::OnlyInTo, _) => (
            "drift-table-missing",
            format!("table `{obj}` is created by the migrations but missing from the database"),
            "it was dropped by hand, or a migration recorded as applied did not run fully: check `cargo dbcheck status`, then restore it (`--fix`)".into(),
        ),
        (ObjectKind::Column, Presence::OnlyInFrom, _) => (
            "drift-column-extra",
            format!("column `{obj}` exists in the database but in no migration: {BY_HAND}"),
            "write a migration that adds it (and apply that migration's history), or drop it (`--fix`)".into(),
        ),
        (ObjectKind::Column, Presence::OnlyInTo, _) => (
            "drift-column-missing",
            format!("column `{obj}` is added by the migrations but missing from the database"),
            "it was dropped by hand, or an applied migration was edited after it ran: check `cargo dbcheck status`; restore it with `--fix`".into(),
        ),
        (ObjectKind::Column, Presence::Changed, Some(aspect)) => (
            "drift-column-changed",
            format!(
                "column `{obj}` differs in {}: {} in the database, {} in the migrations",
                aspect.replace('_', " "),
                d.from.as_deref().unwrap_or("none"),
                d.to.as_deref().unwrap_or("none")
            ),
            format!("{BY_HAND}, or an applied migration was edited after it ran; put the change in a migration or revert it (`--fix`)"),
        ),
        (kind, Presence::Changed, Some("valid")) if kind.is_constraint() && d.from.as_deref() == Some("NOT VALID") => (
            "drift-constraint-not-valid",
            format!("{noun} `{obj}` is NOT VALID in the database: existing rows were never checked"),
            "the migration's `VALIDATE CONSTRAINT` step never ran or failed: fix violating rows, then run `ALTER TABLE … VALIDATE CONSTRAINT …` (`--fix`)".into(),
        ),
        (ObjectKind::Index, Presence::Changed, Some("valid")) if d.from.as_deref().is_some_and(|f| f.ends_with("INVALID")) => (
            "drift-index-invalid",
            format!("index `{obj}` is INVALID in the database: a `CREATE INDEX CONCURRENTLY` failed and left it behind"),
            "queries do not use it but every write maintains it: drop it and create it again (`--fix`), or `REINDEX INDEX CONCURRENTLY`".into(),
        ),
        (kind, presence, _) => {
            let family = if kind.is_constraint() {
                "constraint"
            } else if kind == ObjectKind::Index {
                "index"
            } else {
                "object"
            };
            match presence {
                Presence::OnlyInFrom => (
                    match family {
                        "constraint" => "drift-constraint-extra",
                        "index" => "drift-index-extra",
                        _ => "drift-object-extra",
                    },
                    format!("{noun} `{obj}` exists in the database but in no migration: {BY_HAND}"),
                    "write a migration that creates it, or drop it (`--fix`)".into(),
                ),
                Presence::OnlyInTo => (
                    match family {
                        "constraint" => "drift-constraint-missing",
                        "index" => "drift-index-missing",
                        _ => "drift-object-missing",
                    },
                    format!("{noun} `{obj}` is created by the migrations but missing from the database"),
                    "it was dropped by hand, or a migration did not run fully: restore it (`--fix`)".into(),
                ),
                Presence::Changed => (
                    match family {
                        "constraint" => "drift-constraint-changed",
                        "index" => "drift-index-changed",
                        _ => "drift-object-changed",
                    },
                    format!(
                        "{noun} `{obj}` differs: {} in the database, {} in the migrations",
                        d.from.as_deref().unwrap_or("none"),
                        d.to.as_deref().unwrap_or("none")
                    ),
                    format!("{BY_HAND}, or an applied migration was edited after it ran (`--fix`)"),
                ),
            }
        }
    };
    Finding::new(code, Severity::Error, message).at(Location::database(obj.clone())).help(help)
}

/// The finding for one difference of `cargo dbcheck diff` between sides labelled `from` and `to`.
pub fn diff_finding(d: &Difference, from: &str, to: &str) -> Finding {
    let noun = d.kind.noun();
    let obj = &d.object;
    let (code, message) = match d.presence {
        Presence::OnlyInFrom => ("diff-only-in-from", format!("{noun} `{obj}` is only in {from}")),
        Presence::OnlyInTo => ("diff-only-in-to", format!("{noun} `{obj}` is only in {to}")),
        Presence::Changed => (
            "diff-changed",
            format!(
                "{noun} `{obj}` differs in {}: {} in {from}, {} in {to}",
                d.aspect.unwrap_or("definition").replace('_', " "),
                d.from.as_deref().unwrap_or("none"),
                d.to.as_deref().unwrap_or("none")
            ),
        ),
    };
    Finding::new(code, Severity::Warning, message).at(Location::database(obj.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(kind: ObjectKind, presence: Presence, aspect: Option<&'static str>, from: &str) -> Difference {
        Difference { kind, object: "ads.x".into(), presence, aspect, from: Some(from.into()), to: Some("y".into()) }
    }

    #[test]
    fn findings_explain_the_likely_cause() {
        let f = drift_finding(&diff(ObjectKind::Column, Presence::OnlyInFrom, None, "text"));
        assert_eq!(f.code, "drift-column-extra");
        assert_eq!(
            f.message,
            "column `ads.x` exists in the database but in no migration: changed by hand or by `db push`"
        );
        let f = drift_finding(&diff(ObjectKind::Check, Presence::Changed, Some("valid"), "NOT VALID"));
        assert_eq!(f.code, "drift-constraint-not-valid");
        let f = drift_finding(&diff(ObjectKind::Index, Presence::Changed, Some("valid"), "(a) INVALID"));
        assert_eq!(f.code, "drift-index-invalid");
        let f = drift_finding(&diff(ObjectKind::Column, Presence::Changed, Some("type"), "bigint"));
        assert_eq!(f.code, "drift-column-changed");
        assert!(f.message.contains("type: bigint in the database, y in the migrations"), "{}", f.message);
        assert_eq!(drift_finding(&diff(ObjectKind::View, Presence::OnlyInTo, None, "")).code, "drift-object-missing");
        assert_eq!(
            diff_finding(&diff(ObjectKind::Table, Presence::OnlyInTo, None, ""), "a", "b").code,
            "diff-only-in-to"
        );
    }
}
