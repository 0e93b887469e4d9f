//! DL301 `constraint-on-existing-data`: a constraint added to a table that existed before the
//! migration (`SET NOT NULL`, `CHECK`, `UNIQUE`, `PRIMARY KEY`, `FOREIGN KEY`, a unique index)
//! makes the migration fail when existing rows violate it. Offline that is unknowable, so the
//! finding is information; with a database, `lint::data` counts the violating rows behind it
//! (matched by file and statement span) and turns it into an error when there are some.

use super::{Rule, RuleMeta};
use crate::db::Dialect;
use crate::lint::ast::{Action, ConstraintKind, Name, Stmt};
use crate::lint::{Cx, Hit};
use crate::report::Severity;
use crate::schema::normalize_expression;

/// See the module docs.
#[derive(Debug)]
pub struct ConstraintOnExistingData;

static META: RuleMeta = RuleMeta {
    id: "constraint-on-existing-data",
    code: "DL301",
    summary: "a constraint added to an existing table fails the migration if existing rows violate it",
    severity: Severity::Info,
    dialects: &[],
    default_on: true,
    lock_sensitive: false,
    squawk: &[],
    strong_migrations: "",
    atlas: "MF101, MF102, MF104",
};

impl Rule for ConstraintOnExistingData {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let (table, found) = match cx.stmt {
            Stmt::AlterTable { table, actions } => {
                if cx.existing(table).is_none() {
                    return;
                }
                (table, actions.iter().filter_map(|a| constraint_of(cx, table, a)).collect::<Vec<_>>())
            }
            Stmt::CreateIndex { table, unique: true, name, .. } => {
                if cx.existing(table).is_none() {
                    return;
                }
                let what = name.as_deref().map_or_else(|| "a unique index".to_owned(), |n| format!("unique index {n}"));
                (table, vec![(cx.statement.span.clone(), what)])
            }
            _ => return,
        };
        let Some((span, _)) = found.first() else { return };
        let what: Vec<&str> = found.iter().map(|(_, w)| w.as_str()).collect();
        let key = table.key();
        let defer = if cx.dialect == Dialect::Postgres {
            " On PostgreSQL, CHECK and FOREIGN KEY constraints can be added NOT VALID (new rows are checked at once) and \
             validated after the clean-up"
        } else {
            ""
        };
        out.push(
            Hit::new(
                span.clone(),
                format!(
                    "{} {} added to the existing table {key}: the migration fails if existing rows violate it",
                    what.join(" and "),
                    if what.len() > 1 { "are" } else { "is" }
                ),
                format!(
                    "without a database dbcheck cannot know whether rows violate it. `cargo dbcheck lint --database-url \
                     <url>` counts the violating rows (with sample keys) in that database, and `cargo dbcheck migrate \
                     deploy --dry-run` runs the same pre-flight against the deploy target. Fix the rows in an earlier \
                     migration.{defer}"
                ),
            )
            .on_table(key),
        );
    }
}

/// The constraint an action adds to existing rows, with its span and a description.
fn constraint_of(cx: &Cx<'_>, table: &Name, a: &Action) -> Option<(std::ops::Range<usize>, String)> {
    let key = table.key();
    let added_here = |cols: &[String]| {
        !cols.is_empty() && cols.iter().all(|c| cx.state.added_columns.contains(&format!("{key}.{c}")))
    };
    match a {
        Action::SetNotNull { column, span } => {
            cx.existing_column(table, column)?;
            let col = cx.column(table, column)?;
            (col.nullable && !not_null_checked(cx, table, column))
                .then(|| (span.clone(), format!("NOT NULL on column {column}")))
        }
        // MySQL `MODIFY c type NOT NULL` on a nullable column.
        Action::AlterType { column, not_null: Some(true), span, .. } => {
            cx.existing_column(table, column)?;
            let col = cx.column(table, column)?;
            col.nullable.then(|| (span.clone(), format!("NOT NULL on column {column}")))
        }
        Action::AddConstraint { name, kind, not_valid: false, using_index: false, span } => {
            let named = |what: &str| name.as_deref().map_or_else(|| format!("a {what}"), |n| format!("{what} {n}"));
            let what = match kind {
                ConstraintKind::Check(expr) => match name {
                    Some(n) => format!("check {n}"),
                    None => format!("CHECK ({})", normalize_expression(expr)),
                },
                ConstraintKind::ForeignKey { columns, references } => {
                    if added_here(columns) {
                        return None;
                    }
                    format!("{} ({}) referencing {references}", named("foreign key"), columns.join(", "))
                }
                ConstraintKind::Unique(columns) => {
                    if added_here(columns) {
                        return None;
                    }
                    format!("{} on ({})", named("unique constraint"), columns.join(", "))
                }
                ConstraintKind::PrimaryKey(columns) => {
                    if added_here(columns) {
                        return None;
                    }
                    format!("{} on ({})", named("primary key"), columns.join(", "))
                }
                ConstraintKind::Exclude => named("exclusion constraint"),
            };
            Some((span.clone(), what))
        }
        _ => None,
    }
}

/// Whether a validated `CHECK (column IS NOT NULL)` already guarantees the column has no NULLs.
fn not_null_checked(cx: &Cx<'_>, table: &Name, column: &str) -> bool {
    let Some(t) = cx.table(table) else { return false };
    let want = format!("{} is not null", column.to_ascii_lowercase());
    t.checks.values().any(|c| {
        c.valid
            && normalize_expression(&c.expression)
                .to_ascii_lowercase()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .replace('"', "")
                == want
    })
}

#[cfg(test)]
mod tests {
    use crate::db::Dialect;
    use crate::lint::testing::{hits, hits_on};
    use crate::report::Severity;

    const ADS: &str = "CREATE TABLE users (id bigint PRIMARY KEY);\n\
        CREATE TABLE ads (id bigint PRIMARY KEY, slug text, price numeric, user_id bigint);";

    #[test]
    fn flags_constraints_on_existing_tables_as_information() {
        for (sql, what) in [
            ("ALTER TABLE ads ALTER COLUMN slug SET NOT NULL;", "NOT NULL on column slug"),
            ("ALTER TABLE ads ADD CONSTRAINT ads_price_positive CHECK (price > 0);", "check ads_price_positive"),
            ("ALTER TABLE ads ADD CONSTRAINT ads_slug_key UNIQUE (slug);", "unique constraint ads_slug_key on (slug)"),
            (
                "ALTER TABLE ads ADD FOREIGN KEY (user_id) REFERENCES users (id);",
                "a foreign key (user_id) referencing users",
            ),
            ("CREATE UNIQUE INDEX ads_slug_idx ON ads (slug);", "unique index ads_slug_idx"),
        ] {
            let found = hits("constraint-on-existing-data", &[ADS, sql]);
            assert_eq!(found.len(), 1, "{sql}");
            assert_eq!(found[0].finding.severity, Severity::Info);
            assert_eq!(
                found[0].finding.message,
                format!("{what} is added to the existing table ads: the migration fails if existing rows violate it")
            );
        }
    }

    #[test]
    fn the_statement_span_is_the_whole_statement() {
        let sql = "-- clean data first\nALTER TABLE ads ADD CONSTRAINT c CHECK (price >= 0);";
        let found = hits("constraint-on-existing-data", &[ADS, sql]);
        assert_eq!(found.len(), 1);
        assert_eq!(&sql[found[0].statement.clone()], "ALTER TABLE ads ADD CONSTRAINT c CHECK (price >= 0)");
        // `lint::data` matches the finding to the pre-flight check by this span.
        let m = crate::lint::testing::migration(2, sql, false);
        let plan = crate::migrate::plan_preflight(&[&m], Dialect::Postgres);
        assert_eq!(plan.checks.len(), 1);
        assert_eq!(plan.checks[0].span, found[0].statement);
    }

    #[test]
    fn accepts_not_valid_new_tables_new_columns_and_checked_columns() {
        for sql in [
            "ALTER TABLE ads ADD CONSTRAINT c CHECK (price > 0) NOT VALID;",
            "CREATE TABLE t (a int);\nALTER TABLE t ADD CONSTRAINT u UNIQUE (a);",
            "ALTER TABLE ads ADD COLUMN code text;\nALTER TABLE ads ADD CONSTRAINT ads_code_key UNIQUE (code);",
            "CREATE INDEX ads_slug_idx ON ads (slug);",
            "ALTER TABLE ads ALTER COLUMN id SET NOT NULL;",
        ] {
            assert!(hits("constraint-on-existing-data", &[ADS, sql]).is_empty(), "{sql}");
        }
        let checked = "ALTER TABLE ads ADD CONSTRAINT slug_nn CHECK (slug IS NOT NULL) NOT VALID;\n\
            ALTER TABLE ads VALIDATE CONSTRAINT slug_nn;";
        assert!(
            hits("constraint-on-existing-data", &[ADS, checked, "ALTER TABLE ads ALTER COLUMN slug SET NOT NULL;"])
                .is_empty()
        );
    }

    #[test]
    fn mysql_modify_not_null_and_sqlite_unique_index() {
        let found = hits_on(
            Dialect::Mysql,
            "constraint-on-existing-data",
            &[
                "CREATE TABLE ads (id bigint PRIMARY KEY, slug varchar(80));",
                "ALTER TABLE ads MODIFY slug varchar(80) NOT NULL;",
            ],
        );
        assert_eq!(found.len(), 1);
        let found = hits_on(
            Dialect::Sqlite,
            "constraint-on-existing-data",
            &["CREATE TABLE ads (id integer PRIMARY KEY, slug text);", "CREATE UNIQUE INDEX ads_slug ON ads (slug);"],
        );
        assert_eq!(found.len(), 1);
    }
}
