//! DL209 `drop-default`: `ALTER COLUMN … DROP DEFAULT` on a `NOT NULL` column of a table that
//! existed before the migration: inserts that relied on the default start failing.

use super::columns::{ident, table_sql};
use super::{Rule, RuleMeta};
use crate::db::Dialect;
use crate::lint::ast::{Action, Name, Stmt, classify};
use crate::lint::context::same;
use crate::lint::{Cx, Hit};
use crate::report::Severity;
use crate::sql::statements;

/// See the module docs.
#[derive(Debug)]
pub struct DropDefault;

static META: RuleMeta = RuleMeta {
    id: "drop-default",
    code: "DL209",
    summary: "DROP DEFAULT on a NOT NULL column makes inserts that omit the column fail",
    severity: Severity::Warning,
    dialects: &[Dialect::Postgres, Dialect::Mysql],
    default_on: true,
    lock_sensitive: false,
    squawk: &[],
    strong_migrations: "",
    atlas: "",
};

impl Rule for DropDefault {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let Stmt::AlterTable { table, actions } = cx.stmt else { return };
        for a in actions {
            let Action::DropDefault { column, span } = a else { continue };
            if cx.existing_column(table, column).is_none() {
                continue;
            }
            let Some(col) = cx.column(table, column) else { continue };
            if col.nullable || col.identity.is_some() || col.generated.is_some() || restored_later(cx, table, column) {
                continue;
            }
            let what = match (&col.default, col.auto_increment) {
                (Some(d), _) => format!("its default {d}"),
                (None, true) => "the sequence that numbers it".to_owned(),
                (None, false) => continue,
            };
            out.push(
                Hit::new(
                    span.clone(),
                    format!("NOT NULL column {column} of the existing table {} loses {what}", table.key()),
                    "every INSERT that leaves the column out — from deployed code, jobs, fixtures — now fails with a \
                     NOT NULL violation. Deploy code that always sets the column first, then drop the default in a \
                     later release",
                )
                .fix(format!(
                    "-- release N: every insert sets {c} explicitly\n-- release N+1:\nALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT;",
                    t = table_sql(cx, table),
                    c = ident(cx.dialect, column)
                )),
            );
        }
    }
}

/// Whether a later statement of the same migration sets a default on the column again (the
/// drop only clears the way for a type change, as when an enum type is swapped).
fn restored_later(cx: &Cx<'_>, table: &Name, column: &str) -> bool {
    let Some(rest) = cx.text.get(cx.statement.span.end..) else { return false };
    statements(rest, cx.dialect).iter().any(|st| match classify(st, cx.dialect) {
        Stmt::AlterTable { table: t, actions } => {
            t.key() == table.key()
                && actions
                    .iter()
                    .any(|a| matches!(a, Action::SetDefault { column: c, .. } if same(cx.dialect, c, column)))
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use crate::lint::testing::hits;

    const ADS: &str =
        "CREATE TABLE ads (id bigint PRIMARY KEY, status text NOT NULL DEFAULT 'draft', note text DEFAULT '');";

    #[test]
    fn flags_dropping_the_default_of_a_required_column() {
        let found = hits("drop-default", &[ADS, "ALTER TABLE ads ALTER COLUMN status DROP DEFAULT;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].finding.message,
            "NOT NULL column status of the existing table ads loses its default 'draft'"
        );
    }

    #[test]
    fn flags_mysql_alter_drop_default_and_serial_sequences() {
        let found = crate::lint::testing::hits_on(
            crate::db::Dialect::Mysql,
            "drop-default",
            &[
                "CREATE TABLE ads (id bigint PRIMARY KEY, status varchar(10) NOT NULL DEFAULT 'draft');",
                "ALTER TABLE ads ALTER status DROP DEFAULT;",
            ],
        );
        assert_eq!(found.len(), 1);
        let found = hits(
            "drop-default",
            &["CREATE TABLE t (id serial PRIMARY KEY);", "ALTER TABLE t ALTER COLUMN id DROP DEFAULT;"],
        );
        assert_eq!(found.len(), 1);
        assert!(
            found[0].finding.message.ends_with("loses the sequence that numbers it"),
            "{}",
            found[0].finding.message
        );
    }

    #[test]
    fn accepts_nullable_columns_and_new_tables() {
        assert!(hits("drop-default", &[ADS, "ALTER TABLE ads ALTER COLUMN note DROP DEFAULT;"]).is_empty());
        let swap = "ALTER TABLE ads ALTER COLUMN status DROP DEFAULT;\n\
            ALTER TABLE ads ALTER COLUMN status TYPE varchar(20);\n\
            ALTER TABLE ads ALTER COLUMN status SET DEFAULT 'draft';";
        assert!(hits("drop-default", &[ADS, swap]).is_empty());
        assert!(
            hits(
                "drop-default",
                &["CREATE TABLE t (a int NOT NULL DEFAULT 0);\nALTER TABLE t ALTER COLUMN a DROP DEFAULT;"]
            )
            .is_empty()
        );
    }
}
