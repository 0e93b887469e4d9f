//! `cargo dbcheck lint`: the migration linter. Every migration is walked statement by statement
//! with the static interpreter, so each rule sees the schema as it stands just before the
//! statement (history-aware), the transaction the statement runs in, what earlier statements of
//! the same migration did, the Rust code that uses tables and columns (code-aware) and, with a
//! database, table sizes (data-aware). Rules live in `rules/`, one module each; ignore comments
//! in `ignore.rs`; the `[lint]` configuration in `config.rs`.

pub mod ast;
pub mod config;
mod context;
pub mod data;
pub mod fix;
#[cfg(test)]
mod fuzz;
mod ignore;
pub mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use config::LintConfig;
pub use context::{Cx, Expansion, History, MigrationState};
pub use rules::{Rule, RuleMeta, all_rules, find_rule};

use crate::db::Dialect;
use crate::declared::CodeRef;
use crate::migrations::{Discovery, Layout, Migration, TransactionMode};
use crate::replay::replayed_migrations;
use crate::report::{Finding, Location, Severity};
use crate::sql::{Interpreter, statements};

/// What one rule reports about one statement.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Byte range in the file (the action or the statement).
    pub span: Range<usize>,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// Why it hurts and the safe alternative.
    pub help: String,
    /// The safe form as SQL, when there is a concrete one.
    pub fix_sql: Option<String>,
    /// The existing table the statement locks or rewrites, for data-aware severity.
    pub table: Option<String>,
    /// A severity other than the rule's default (e.g. `CASCADE` makes a drop worse).
    pub severity: Option<Severity>,
    /// An in-place rewrite that resolves it (`lint --fix`); its path is filled in with the file's.
    pub edit: Option<Edit>,
}

/// An in-place rewrite of a migration that resolves a finding (`cargo dbcheck lint --fix`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    /// The migration file.
    pub path: PathBuf,
    /// The byte range replaced.
    pub span: Range<usize>,
    /// The text the range holds now: an edit whose file has changed since is not applied.
    pub expected: String,
    /// The text that replaces it.
    pub replacement: String,
}

impl Hit {
    /// A hit at `span` with a message and help.
    pub fn new(span: Range<usize>, message: impl Into<String>, help: impl Into<String>) -> Self {
        Hit { span, message: message.into(), help: help.into(), fix_sql: None, table: None, severity: None, edit: None }
    }

    /// Attach the safe SQL.
    pub fn fix(mut self, sql: impl Into<String>) -> Self {
        self.fix_sql = Some(sql.into());
        self
    }

    /// Offer replacing `expected` at `span` (file offsets) with `replacement` as the fix.
    pub fn replace(mut self, span: Range<usize>, expected: &str, replacement: impl Into<String>) -> Self {
        let replacement = replacement.into();
        self.edit = Some(Edit { path: PathBuf::new(), span, expected: expected.to_owned(), replacement });
        self
    }

    /// Name the existing table concerned.
    pub fn on_table(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }

    /// Override the rule's severity.
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = Some(s);
        self
    }
}

/// Table sizes from the live catalog, for data-aware severity.
#[derive(Debug, Clone, Default)]
pub struct TableSizes {
    /// Estimated rows per table key (as the schema model names tables).
    pub rows: BTreeMap<String, i64>,
}

/// Everything a lint run takes besides the migrations.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// The `[lint]` configuration.
    pub config: LintConfig,
    /// Lint only these migration files (others are still interpreted for history); `None`: all.
    pub only: Option<BTreeSet<PathBuf>>,
    /// Where Rust code uses tables and columns (guarded structs, diesel `schema.rs`).
    pub code_refs: Vec<CodeRef>,
    /// Live table sizes, when a database was given.
    pub sizes: Option<TableSizes>,
}

/// One finding with the rule and statement it came from (for data-aware follow-ups).
#[derive(Debug, Clone, Serialize)]
pub struct LintFinding {
    /// The finding.
    pub finding: Finding,
    /// The rule's id.
    pub rule: &'static str,
    /// The statement's byte range in its file.
    pub statement: Range<usize>,
    /// The existing table concerned, when the rule named one.
    pub table: Option<String>,
    /// The in-place rewrite that resolves it, when the rule has a mechanical one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit: Option<Edit>,
}

/// The result of a lint run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LintReport {
    /// Findings, in file and statement order.
    pub findings: Vec<LintFinding>,
    /// Files linted (up and down).
    pub files: usize,
    /// Statements linted.
    pub statements: usize,
    /// Migrations interpreted for history but not linted (`--base`).
    pub skipped: usize,
}

impl LintReport {
    /// The findings alone.
    pub fn plain_findings(&self) -> Vec<Finding> {
        self.findings.iter().map(|f| f.finding.clone()).collect()
    }
}

/// Whether `layout`'s tool runs a migration in a transaction it opened itself.
fn tool_wraps(layout: Option<Layout>, m: &Migration, dialect: Dialect) -> bool {
    // MySQL and MariaDB commit implicitly around DDL: no transaction holds locks across it.
    if dialect == Dialect::Mysql {
        return false;
    }
    let _ = layout;
    m.transaction == TransactionMode::Transaction
}

/// Lint `discovery`'s migrations (in the order they apply) for `dialect`.
pub fn lint(discovery: &Discovery, dialect: Dialect, options: &LintOptions) -> LintReport {
    let rules: Vec<&'static dyn Rule> = all_rules()
        .iter()
        .copied()
        .filter(|r| options.config.enabled(r.meta()) && r.meta().applies_to(dialect))
        .collect();
    let mut report = LintReport::default();
    // Code-aware rules compare with where the migrations end up: a use of a column the last
    // migration still has is not "still used after the drop".
    let final_schema = if options.code_refs.is_empty() {
        crate::schema::Schema::empty(dialect)
    } else {
        crate::sql::interpret_migrations(discovery, dialect).schema
    };
    let mut interpreter = Interpreter::new(dialect);
    let mut history = History::default();
    for m in replayed_migrations(discovery) {
        let selected = options.only.as_ref().is_none_or(|only| only.contains(&m.path));
        let text = m.sql();
        let at_start = interpreter.schema().clone();
        let wraps = tool_wraps(discovery.layout, m, dialect);
        let sts = statements(&text, dialect);
        let ignores = ignore::parse(&m.path, &text, &sts);
        let mut state = MigrationState::new(wraps);
        let mut hits: Vec<(usize, &'static RuleMeta, Hit)> = Vec::new();
        for (n, st) in sts.iter().enumerate() {
            let stmt = ast::classify(st, dialect);
            if selected {
                let cx = Cx {
                    dialect,
                    path: &m.path,
                    text: &text,
                    down: false,
                    statement: st,
                    stmt: &stmt,
                    before: interpreter.schema(),
                    at_start: &at_start,
                    state: &state,
                    history: &history,
                    options,
                    final_schema: &final_schema,
                };
                for rule in &rules {
                    let mut out = Vec::new();
                    rule.check(&cx, &mut out);
                    hits.extend(out.into_iter().map(|h| (n, rule.meta(), h)));
                }
            }
            state.after(&stmt, &at_start, &mut history, &m.path, st.line);
            interpreter.apply_statement(&m.path, st);
        }
        if !selected {
            report.skipped += 1;
            continue;
        }
        report.files += 1;
        report.statements += sts.len();
        report.findings.extend(ignore::apply(&ignores, hits, &sts, &m.path, options));
        if let Some(down) = &m.down_path {
            let ctx = DownContext { dialect, rules: &rules, options, history: &history, final_schema: &final_schema };
            lint_down(down, &interpreter, &ctx, &mut report);
        }
    }
    report
}

/// What a down migration is linted with.
struct DownContext<'a> {
    dialect: Dialect,
    rules: &'a [&'static dyn Rule],
    options: &'a LintOptions,
    history: &'a History,
    final_schema: &'a crate::schema::Schema,
}

/// Lint a down migration against the schema after its up migration.
fn lint_down(path: &Path, interpreter: &Interpreter, ctx: &DownContext<'_>, report: &mut LintReport) {
    let DownContext { dialect, rules, options, history, final_schema } = *ctx;
    let Ok(bytes) = std::fs::read(path) else { return };
    let text = String::from_utf8_lossy(&bytes);
    let mut shadow = interpreter.clone();
    let at_start = shadow.schema().clone();
    let sts = statements(&text, dialect);
    let ignores = ignore::parse(path, &text, &sts);
    let mut state = MigrationState::new(dialect != Dialect::Mysql);
    let mut history = history.clone();
    let mut hits = Vec::new();
    for (n, st) in sts.iter().enumerate() {
        let stmt = ast::classify(st, dialect);
        let cx = Cx {
            dialect,
            path,
            text: &text,
            down: true,
            statement: st,
            stmt: &stmt,
            before: shadow.schema(),
            at_start: &at_start,
            state: &state,
            history: &history,
            options,
            final_schema,
        };
        for rule in rules {
            let mut out = Vec::new();
            rule.check(&cx, &mut out);
            hits.extend(out.into_iter().map(|h| (n, rule.meta(), h)));
        }
        state.after(&stmt, &at_start, &mut history, path, st.line);
        shadow.apply_statement(path, st);
    }
    report.files += 1;
    report.statements += sts.len();
    report.findings.extend(ignore::apply(&ignores, hits, &sts, path, options));
}

/// Turn a hit into a finding: the rule's code and severity (configured, data-aware), the span.
fn finding(
    meta: &'static RuleMeta,
    hit: Hit,
    path: &Path,
    statement: Range<usize>,
    options: &LintOptions,
) -> LintFinding {
    let mut severity = options.config.severity_of(meta).unwrap_or(hit.severity.unwrap_or(meta.severity));
    let mut message = hit.message;
    if let (Some(sizes), Some(table), true) = (&options.sizes, &hit.table, meta.lock_sensitive) {
        match sizes.rows.get(table) {
            Some(&rows) if rows <= options.config.small_table_rows() => {
                severity = Severity::Info;
                message = format!("{message} (the live table has about {rows} rows: harmless there)");
            }
            Some(&rows) if rows >= options.config.big_table_rows() && severity == Severity::Warning => {
                severity = Severity::Error;
                message = format!("{message} (the live table has about {rows} rows)");
            }
            Some(&rows) => message = format!("{message} (the live table has about {rows} rows)"),
            None => {}
        }
    }
    let fixable =
        if hit.edit.is_some() { "; while the migration is new, `cargo dbcheck lint --fix` rewrites it" } else { "" };
    let mut f = Finding::new(meta.id, severity, message)
        .at(Location::span(path, hit.span))
        .help(format!("{} [{}{fixable}; see docs/lint/{}.md]", hit.help, meta.code, meta.id));
    if let Some(sql) = hit.fix_sql {
        f = f.fix_sql(sql);
    }
    let edit = hit.edit.map(|e| Edit { path: path.to_path_buf(), ..e });
    LintFinding { finding: f, rule: meta.id, statement, table: hit.table, edit }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the rules' ok/err tests: lint SQL written as a list of migrations.

    use super::*;
    use crate::migrations::{MigrationKind, Version};

    /// A migration from SQL; `no_tx` opts out of the transaction.
    pub fn migration(n: i64, sql: &str, no_tx: bool) -> Migration {
        Migration {
            version: Version::Int(n),
            history_key: n.to_string(),
            name: format!("m{n}"),
            path: PathBuf::from(format!("migrations/{n}_m{n}.sql")),
            bytes: sql.as_bytes().to_vec(),
            down_path: None,
            transaction: if no_tx { TransactionMode::NoTransaction } else { TransactionMode::Transaction },
            kind: MigrationKind::Versioned,
        }
    }

    /// Lint migrations given as SQL texts (the last one is the one under test) with `options`.
    pub fn lint_with(dialect: Dialect, sqls: &[&str], options: &LintOptions) -> Vec<LintFinding> {
        let migrations: Vec<Migration> = sqls
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let no_tx = s.starts_with("-- no-transaction");
                migration(i as i64 + 1, s, no_tx)
            })
            .collect();
        let discovery = Discovery {
            dir: PathBuf::from("migrations"),
            layout: Some(Layout::Sqlx),
            migrations,
            findings: Vec::new(),
        };
        lint(&discovery, dialect, options).findings
    }

    /// The ids of the findings of `rule` when linting `sqls` on PostgreSQL.
    pub fn hits(rule: &str, sqls: &[&str]) -> Vec<LintFinding> {
        hits_on(Dialect::Postgres, rule, sqls)
    }

    /// Like [`hits`] for another dialect.
    pub fn hits_on(dialect: Dialect, rule: &str, sqls: &[&str]) -> Vec<LintFinding> {
        lint_with(dialect, sqls, &LintOptions::default()).into_iter().filter(|f| f.rule == rule).collect()
    }
}

#[cfg(test)]
mod tests {
    //! What a per-file linter cannot do: the same file, linted with and without the migrations
    //! before it (or the code that uses the schema), gives different — correct — answers.

    use super::testing::{hits, lint_with};
    use super::*;

    const ADS: &str = "CREATE TABLE ads (id bigint PRIMARY KEY, title text NOT NULL, slug text);";

    #[test]
    fn history_decides_whether_a_table_is_existing() {
        let file = "CREATE INDEX ads_slug_idx ON ads (slug);";
        // Alone, `ads` is unknown: a per-file linter cannot say whether it holds data.
        assert!(hits("require-concurrent-index", &[file]).is_empty());
        assert_eq!(hits("require-concurrent-index", &[ADS, file]).len(), 1);
        // Created in the same migration: nobody writes to it yet.
        assert!(hits("require-concurrent-index", &[&format!("{ADS}\n{file}")]).is_empty());
    }

    #[test]
    fn history_recognises_the_contract_step_of_an_expand_contract_rename() {
        let expand = "ALTER TABLE ads ADD COLUMN headline text;\nUPDATE ads SET headline = title;";
        let contract = "ALTER TABLE ads DROP COLUMN title;";
        let alone = hits("drop-column", &[ADS, contract]);
        let spread = hits("drop-column", &[ADS, expand, contract]);
        assert_eq!(alone.len(), 1);
        assert_eq!(spread.len(), 1);
        assert!(alone[0].finding.severity > Severity::Info, "{:?}", alone[0].finding);
        assert_eq!(spread[0].finding.severity, Severity::Info, "{:?}", spread[0].finding);
        assert!(spread[0].finding.message.contains("headline"), "{}", spread[0].finding.message);
        // A backfill built from the old column (with a fallback) is an expand step too.
        let coalesced =
            "ALTER TABLE ads ADD COLUMN headline text;\nUPDATE ads SET headline = coalesce(title, slug, 'untitled');";
        let spread = hits("drop-column", &[ADS, coalesced, contract]);
        assert_eq!(spread[0].finding.severity, Severity::Info, "{:?}", spread[0].finding);
        // Expand and contract in one migration is the error a per-file linter would miss.
        assert_eq!(hits("contract-with-expand", &[ADS, &format!("{expand}\n{contract}")]).len(), 1);
    }

    #[test]
    fn code_decides_whether_a_drop_breaks_the_application() {
        let drop = "ALTER TABLE ads DROP COLUMN slug;";
        let with_code = LintOptions {
            code_refs: vec![CodeRef {
                table: "ads".into(),
                column: Some("slug".into()),
                path: "src/models.rs".into(),
                line: 9,
                span: 0..10,
                item: "struct Ad, field slug".into(),
            }],
            ..LintOptions::default()
        };
        let code_rule = |o: &LintOptions| {
            lint_with(Dialect::Postgres, &[ADS, drop], o).into_iter().filter(|f| f.rule == "code-uses-dropped").count()
        };
        assert_eq!(code_rule(&LintOptions::default()), 0);
        assert_eq!(code_rule(&with_code), 1);
    }

    #[test]
    fn ignore_comments_need_a_reason_and_unused_ones_are_reported() {
        let run = |sql: &str| -> Vec<&'static str> {
            lint_with(Dialect::Postgres, &[ADS, sql], &LintOptions::default())
                .into_iter()
                .map(|f| f.finding.code)
                .collect()
        };
        let run = |sql: &str| -> Vec<&'static str> {
            run(sql).into_iter().filter(|c| *c == "require-concurrent-index" || c.starts_with("lint-ignore")).collect()
        };
        let ok = run(
            "-- dbcheck:ignore require-concurrent-index -- ads is empty until launch\nCREATE INDEX i ON ads (slug);",
        );
        assert!(ok.is_empty(), "{ok:?}");
        let by_code = run("CREATE INDEX i ON ads (slug); -- dbcheck:ignore DL101 -- empty table");
        assert!(by_code.is_empty(), "{by_code:?}");
        let squawk = run("-- squawk-ignore require-concurrent-index-creation\nCREATE INDEX i ON ads (slug);");
        assert!(squawk.is_empty(), "{squawk:?}");
        let no_reason = run("-- dbcheck:ignore require-concurrent-index\nCREATE INDEX i ON ads (slug);");
        assert!(
            no_reason.contains(&"lint-ignore-invalid") && no_reason.contains(&"require-concurrent-index"),
            "{no_reason:?}"
        );
        let unknown = run("-- dbcheck:ignore no-such-rule -- because\nSELECT 1;");
        assert_eq!(unknown, vec!["lint-ignore-invalid"]);
        let unused = run("-- dbcheck:ignore require-concurrent-index -- not needed\nSELECT 1;");
        assert_eq!(unused, vec!["lint-ignore-unused"]);
        let file_wide = run(
            "-- dbcheck:ignore-file require-concurrent-index -- all empty tables\nSELECT 1;\nCREATE INDEX i ON ads (slug);",
        );
        assert!(file_wide.is_empty(), "{file_wide:?}");
    }

    #[test]
    fn data_aware_severity_follows_table_size() {
        let sql = "CREATE INDEX i ON ads (slug);";
        let with_rows = |rows: i64| {
            let options = LintOptions {
                sizes: Some(TableSizes { rows: [("ads".to_owned(), rows)].into_iter().collect() }),
                ..LintOptions::default()
            };
            let found = lint_with(Dialect::Postgres, &[ADS, sql], &options);
            found.into_iter().find(|f| f.rule == "require-concurrent-index").map(|f| f.finding.severity)
        };
        assert_eq!(with_rows(10), Some(Severity::Info));
        assert_eq!(with_rows(50_000), Some(Severity::Warning));
        assert_eq!(with_rows(5_000_000), Some(Severity::Error));
    }
}
