//! Data integrity (`cargo dbcheck integrity`): declared rules checked against live data with one
//! aggregate scan per table, and derived rules read from the schema (NOT VALID constraints,
//! INVALID indexes, `*_id` columns without a foreign key, declared constraints the database
//! lacks).
//!
//! The entry point is [`check`]; [`migration::write_migration`] turns a report's constraint SQL
//! into a migration in the project's layout.

pub mod config;
mod derived;
pub mod migration;
mod plan;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

pub use config::{IntegrityConfig, RuleConfig};
pub use plan::RuleKind;

use crate::config::Project;
use crate::db::{Db, DbError, IntrospectOptions, SampleRow, TableSql};
use crate::report::{Finding, Location, Severity};
use crate::schema::Schema;

/// Default per-statement timeout of the scans, in seconds.
pub const DEFAULT_STATEMENT_TIMEOUT_SECS: u64 = 300;

/// How to run [`check`].
#[derive(Debug, Clone, Default)]
pub struct IntegrityOptions {
    /// Scan this percentage of each table's pages (`TABLESAMPLE SYSTEM`, PostgreSQL only) for the
    /// counting rules; duplicates, orphans and custom queries always read everything.
    pub sample_percent: Option<f64>,
    /// Samples per rule (overrides `integrity.samples`).
    pub samples: Option<usize>,
    /// The declared schema (e.g. `integrity.schema` replayed), for missing-constraint findings.
    pub declared: Option<Schema>,
    /// Columns Rust code reads as never NULL (guarded structs' non-`Option` fields): a nullable
    /// live column among them is a missing constraint.
    pub code_not_null: Vec<crate::declared::CodeRef>,
    /// Skip the derived rules.
    pub no_derived: bool,
    /// Updated while the scan runs.
    pub progress: Option<Arc<Progress>>,
}

/// Counters a progress display can poll.
#[derive(Debug, Default)]
pub struct Progress {
    /// Tables to scan.
    pub tables_total: AtomicU64,
    /// Tables scanned.
    pub tables_done: AtomicU64,
    /// Queries issued.
    pub queries: AtomicU64,
}

/// Failures that stop an integrity run (violations are findings, not errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrityError {
    /// The database failed outside a rule's own query (connection, transaction, introspection).
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What one rule found.
#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    /// Stable id: `table.column.kind` (or `name.kind`).
    pub id: String,
    /// The table, as configured.
    pub table: String,
    /// The column, when the rule is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// `not_null`, `not_empty`, `regex`, `min`, `max`, `accepted_values`, `check`, `unique`,
    /// `references` or `sql`.
    pub kind: &'static str,
    /// Severity when over the threshold.
    pub severity: Severity,
    /// Largest tolerated ratio.
    pub max_ratio: f64,
    /// Rows the rule looked at (its `where` applied); `None` for custom queries and rules not run.
    pub rows_checked: Option<u64>,
    /// Violating rows (for `unique`: rows that share their value with another row).
    pub violations: u64,
    /// For `unique`: the number of duplicated values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<u64>,
    /// `violations / rows_checked`.
    pub ratio: Option<f64>,
    /// Whether the violations exceed the threshold.
    pub over_threshold: bool,
    /// Why the rule could not run (missing table/column, failing SQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The first violating rows (key and value), ordered by key.
    pub samples: Vec<SampleRow>,
    /// SQL repairing existing rows, to review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill_sql: Option<String>,
    /// The migration preventing recurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint_sql: Option<String>,
    /// Undoes `constraint_sql` (down migrations).
    #[serde(skip)]
    pub drop_sql: Option<String>,
    /// Whether `constraint_sql` must run outside a transaction (`CONCURRENTLY`).
    #[serde(skip)]
    pub no_transaction: bool,
}

/// The scan of one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    /// The table, as configured.
    pub table: String,
    /// Rows scanned by the aggregate query.
    pub rows: u64,
    /// Every statement that read data, by purpose (`count`, `duplicates`, `orphans`, `custom`,
    /// `samples`), in order.
    pub queries: Vec<&'static str>,
}

/// Everything an integrity run found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IntegrityReport {
    /// Per declared rule, in configuration order.
    pub rules: Vec<RuleReport>,
    /// Per scanned table.
    pub tables: Vec<TableReport>,
    /// `--sample-percent`, when used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_percent: Option<f64>,
    /// Every finding: violations, rules that could not run, derived findings (in JSON they are
    /// the result's `findings`).
    #[serde(skip)]
    pub findings: Vec<Finding>,
    /// Files written by `--write-migration`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub migration_files: Vec<std::path::PathBuf>,
}

impl IntegrityReport {
    /// Number of data-reading statements issued.
    pub fn query_count(&self) -> usize {
        self.tables.iter().map(|t| t.queries.len()).sum()
    }
}

/// Check `project`'s integrity rules (`[integrity]`, possibly none) and the derived rules against
/// `db`, in one read-only transaction. The connection is left open with no transaction.
pub async fn check(
    project: &Project,
    db: &mut Db,
    options: &IntegrityOptions,
) -> Result<IntegrityReport, IntegrityError> {
    let default_config = IntegrityConfig::default();
    let config = project.settings.integrity.as_ref().map_or(&default_config, |s| &s.config);
    check_config(db, config, &project.settings.schemas, options).await
}

/// [`check`] with an explicit configuration and the PostgreSQL namespaces to read (empty:
/// `public`).
pub async fn check_config(
    db: &mut Db,
    config: &IntegrityConfig,
    schemas: &[String],
    options: &IntegrityOptions,
) -> Result<IntegrityReport, IntegrityError> {
    let introspect = IntrospectOptions { schemas: schemas.to_vec(), exclude_tables: Vec::new() };
    let schema = db.introspect(&introspect).await?;
    let samples = options.samples.or(config.samples).unwrap_or(config::DEFAULT_SAMPLES);
    let timeout = config.statement_timeout_secs.unwrap_or(DEFAULT_STATEMENT_TIMEOUT_SECS);
    let mut report = IntegrityReport { sample_percent: options.sample_percent, ..IntegrityReport::default() };
    let plan = plan::plan(config, &schema);

    db.integrity_begin(timeout).await?;
    let scanned = scan(db, &plan, samples, options, &mut report).await;
    let ended = db.integrity_end().await;
    scanned?;
    ended?;

    if !(options.no_derived || config.derived == Some(false)) {
        report.findings.extend(derived::findings(
            &schema,
            options.declared.as_ref(),
            &options.code_not_null,
            &config.ignore_missing_fk,
        ));
    }
    Ok(report)
}

async fn scan(
    db: &mut Db,
    plan: &plan::Plan,
    samples: usize,
    options: &IntegrityOptions,
    report: &mut IntegrityReport,
) -> Result<(), IntegrityError> {
    let d = db.dialect();
    let progress = options.progress.clone().unwrap_or_default();
    progress.tables_total.store(plan.tables.len() as u64, Ordering::Relaxed);
    let mut rules: Vec<RuleReport> = plan.rules.iter().map(|r| r.report.clone()).collect();
    for table in &plan.tables {
        let key = table.key.clone();
        let t = TableSql { schema: table.schema.as_deref(), name: &table.name, key: &key };
        let mut queries: Vec<&'static str> = Vec::new();
        // 1. One aggregate scan with a counter per counting rule, plus the rows each `where`
        //    of a duplicate/orphan rule selects.
        let counted: Vec<usize> =
            table.rules.iter().copied().filter(|&i| plan.rules[i].count_rule().is_some()).collect();
        let mut count_rules: Vec<crate::db::CountRule<'_>> =
            counted.iter().filter_map(|&i| plan.rules[i].count_rule()).collect();
        let selected: Vec<usize> = table
            .rules
            .iter()
            .copied()
            .filter(|&i| {
                plan.rules[i].count_rule().is_none() && plan.rules[i].filter.is_some() && !plan.rules[i].is_custom()
            })
            .collect();
        count_rules.extend(selected.iter().map(|&i| crate::db::CountRule {
            column: None,
            check: crate::db::CountCheck::Selected,
            filter: plan.rules[i].filter.as_deref(),
        }));
        queries.push("count");
        progress.queries.fetch_add(1, Ordering::Relaxed);
        let rows = match db.integrity_counts(&t, &count_rules, options.sample_percent).await {
            Ok(counts) => {
                for (n, &i) in counted.iter().enumerate() {
                    let (checked, violations) = counts.rules[n];
                    set_counts(&mut rules[i], checked, violations, None);
                }
                for (n, &i) in selected.iter().enumerate() {
                    rules[i].rows_checked = Some(counts.rules[counted.len() + n].0);
                }
                counts.rows
            }
            Err(e) => {
                for &i in &counted {
                    rules[i].error = Some(format!("the table's scan failed: {}", reason(&e)));
                }
                0
            }
        };
        // 2. Samples of counting rules that found something.
        for &i in &counted {
            if rules[i].violations == 0 || samples == 0 {
                continue;
            }
            let Some(rule) = plan.rules[i].count_rule() else { continue };
            queries.push("samples");
            match db.integrity_samples(&t, &rule, samples).await {
                Ok(s) => rules[i].samples = s,
                Err(e) => rules[i].error = Some(reason(&e)),
            }
        }
        // 3. One query per duplicate, orphan and custom rule (plus samples when they found some).
        for &i in &table.rules {
            let p = &plan.rules[i];
            let checked = rules[i].rows_checked.or(Some(rows));
            match &p.kind {
                RuleKind::Unique { columns } => {
                    queries.push("duplicates");
                    match db.integrity_duplicates(&t, columns, p.filter.as_deref()).await {
                        Ok((dup, groups)) => {
                            set_counts(&mut rules[i], checked.unwrap_or(0), dup, Some(groups));
                            if dup > 0 && samples > 0 {
                                queries.push("samples");
                                match db.integrity_duplicate_samples(&t, columns, p.filter.as_deref(), samples).await {
                                    Ok(s) => rules[i].samples = s,
                                    Err(e) => rules[i].error = Some(reason(&e)),
                                }
                            }
                        }
                        Err(e) => rules[i].error = Some(reason(&e)),
                    }
                }
                RuleKind::References { column, parent, parent_key, parent_column } => {
                    let pt = TableSql { schema: parent.0.as_deref(), name: &parent.1, key: parent_key };
                    queries.push("orphans");
                    match db.integrity_orphans(&t, column, &pt, parent_column, p.filter.as_deref()).await {
                        Ok(n) => {
                            set_counts(&mut rules[i], checked.unwrap_or(0), n, None);
                            if n > 0 && samples > 0 {
                                queries.push("samples");
                                let s = db
                                    .integrity_orphan_samples(
                                        &t,
                                        column,
                                        &pt,
                                        parent_column,
                                        p.filter.as_deref(),
                                        samples,
                                    )
                                    .await;
                                match s {
                                    Ok(s) => rules[i].samples = s,
                                    Err(e) => rules[i].error = Some(reason(&e)),
                                }
                            }
                        }
                        Err(e) => rules[i].error = Some(reason(&e)),
                    }
                }
                RuleKind::Sql { sql } => {
                    queries.push("custom");
                    match db.integrity_custom_count(sql).await {
                        Ok(n) => {
                            // The query's rows are rows of the rule's table: its share of the
                            // table's rows (from the aggregate scan) is the ratio `max_ratio` bounds.
                            set_counts(&mut rules[i], rows, n, None);
                            if n > 0 && samples > 0 {
                                queries.push("samples");
                                match db.integrity_custom_samples(sql, samples).await {
                                    Ok(s) => rules[i].samples = s,
                                    Err(e) => rules[i].error = Some(reason(&e)),
                                }
                            }
                        }
                        Err(e) => rules[i].error = Some(reason(&e)),
                    }
                }
                RuleKind::Count { .. } => {}
            }
        }
        progress.queries.fetch_add(queries.len() as u64 - 1, Ordering::Relaxed);
        progress.tables_done.fetch_add(1, Ordering::Relaxed);
        report.tables.push(TableReport { table: table.label.clone(), rows, queries });
    }
    // Fixes and findings, in configuration order.
    for (i, p) in plan.rules.iter().enumerate() {
        let r = &mut rules[i];
        if let Some(error) = &p.unresolved {
            r.error = Some(error.clone());
        }
        if r.error.is_none() && r.violations > 0 {
            let fix = p.fix_input(&plan.tables);
            if let Some(fix) = fix.as_ref() {
                r.backfill_sql = crate::db::backfill_sql(d, fix);
                r.constraint_sql = crate::db::constraint_sql(d, fix);
                r.drop_sql = crate::db::drop_constraint_sql(d, fix);
                r.no_transaction = d == crate::db::Dialect::Postgres && matches!(p.kind, RuleKind::Unique { .. });
            }
        }
        report.findings.extend(rule_finding(r, p));
    }
    report.rules = rules;
    Ok(())
}

fn reason(e: &DbError) -> String {
    match e {
        DbError::Query { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

fn set_counts(r: &mut RuleReport, checked: u64, violations: u64, groups: Option<u64>) {
    r.rows_checked = Some(checked);
    r.violations = violations;
    r.groups = groups;
    r.ratio = (checked > 0).then(|| violations as f64 / checked as f64);
    r.over_threshold = violations > 0 && r.ratio.is_none_or(|x| x > r.max_ratio);
}

/// The finding of one rule: an error state, a violation over or under its threshold, or none.
fn rule_finding(r: &RuleReport, p: &plan::PlannedRule) -> Option<Finding> {
    let location = Location::database(r.id.clone());
    if let Some(error) = &r.error {
        let code = p.unresolved_code.unwrap_or("integrity-rule-failed");
        let help = match code {
            "integrity-missing-table" => {
                "check `table` in [[integrity.rules]] (and `schemas` for other namespaces); the rule did not run"
            }
            "integrity-missing-column" => "check the column names of this rule; the rule did not run",
            _ => "fix the rule's SQL (`where`, `check` or `sql` are run as written); the other rules ran",
        };
        return Some(
            Finding::new(code, Severity::Error, format!("integrity rule {} cannot run: {error}", r.id))
                .at(location)
                .help(help),
        );
    }
    if r.violations == 0 {
        return None;
    }
    let ratio = r.ratio.map(|x| format!(" ({:.4}%)", x * 100.0)).unwrap_or_default();
    let checked = r.rows_checked.map(|n| format!(" of {n} row(s) checked")).unwrap_or_default();
    let sample = r
        .samples
        .first()
        .map(|s| {
            let key = s.key.as_deref().map(|k| format!("key {k}")).unwrap_or_default();
            let value = s.value.as_deref().map(|v| format!(" value {}", shown_value(v))).unwrap_or_default();
            format!("; e.g. {}", format!("{key}{value}").trim())
        })
        .unwrap_or_default();
    let what = if r.kind == "unique" { "duplicate row(s)" } else { "violation(s)" };
    let (code, severity, tail) = if r.over_threshold {
        ("integrity-violation", r.severity, String::new())
    } else {
        ("integrity-within-threshold", Severity::Info, format!(", within max_ratio {}", r.max_ratio))
    };
    let mut f =
        Finding::new(code, severity, format!("{}: {} {what}{checked}{ratio}{tail}{sample}", r.id, r.violations))
            .at(location)
            .help(match (&r.backfill_sql, &r.constraint_sql) {
                (_, Some(_)) => {
                    "repair the rows (backfill SQL below), then add the constraint with `--write-migration DIR`"
                }
                _ => "repair the rows this rule selects",
            });
    let fix: String = [r.backfill_sql.as_deref(), r.constraint_sql.as_deref()].into_iter().flatten().collect();
    if !fix.is_empty() {
        f = f.fix_sql(fix);
    }
    Some(f)
}

/// A sample value for a message: quoted (so blanks and quotes show), SQL NULL bare.
pub fn shown_value(v: &str) -> String {
    if v == "NULL" { v.to_owned() } else { format!("{v:?}") }
}
