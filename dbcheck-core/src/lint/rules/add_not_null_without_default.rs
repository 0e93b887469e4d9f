//! DL207 `add-not-null-without-default`: `ADD COLUMN … NOT NULL` without a default (and not an
//! identity, serial or generated column) on a table that existed before the migration fails as
//! soon as the table has a row (SQLite: always).

use super::columns::{ident, serial_kind, table_sql};
use super::{Rule, RuleMeta};
use crate::db::Dialect;
use crate::lint::ast::{Action, Stmt};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct AddNotNullWithoutDefault;

static META: RuleMeta = RuleMeta {
    id: "add-not-null-without-default",
    code: "DL207",
    summary: "ADD COLUMN … NOT NULL without a DEFAULT fails on an existing table that has rows",
    severity: Severity::Error,
    // MySQL fills existing rows with the type's implicit default instead of failing.
    dialects: &[Dialect::Postgres, Dialect::Sqlite],
    default_on: true,
    lock_sensitive: false,
    squawk: &["adding-required-field"],
    strong_migrations: "",
    atlas: "MF103",
};

impl Rule for AddNotNullWithoutDefault {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let Stmt::AlterTable { table, actions } = cx.stmt else { return };
        // SQLite refuses the statement even on an empty table: new tables count too.
        if cx.existing(table).is_none() && cx.dialect != Dialect::Sqlite {
            return;
        }
        for a in actions {
            let Action::AddColumn(col) = a else { continue };
            // `DEFAULT NULL` is no default (the classifier stops the expression at the NULL keyword).
            let has_default =
                col.default.as_deref().is_some_and(|d| !d.trim().is_empty() && !d.trim().eq_ignore_ascii_case("null"));
            if !col.not_null || has_default || col.identity || col.generated || serial_kind(&col.type_text).is_some() {
                continue;
            }
            let key = table.key();
            let (t, c) = (table_sql(cx, table), ident(cx.dialect, &col.name));
            let ty = col.type_text.trim();
            let (message, fix) = if cx.dialect == Dialect::Sqlite {
                (
                    format!("NOT NULL column {} is added to {key} without a default, which SQLite refuses", col.name),
                    format!("ALTER TABLE {t} ADD COLUMN {c} {ty} NOT NULL DEFAULT <value>;"),
                )
            } else {
                (
                    format!(
                        "NOT NULL column {} is added to the existing table {key} without a default: the migration fails if the table has rows",
                        col.name
                    ),
                    format!(
                        "-- either a constant default (PostgreSQL 11+: no table rewrite)\n\
                         ALTER TABLE {t} ADD COLUMN {c} {ty} NOT NULL DEFAULT <value>;\n\
                         -- or nullable first, backfilled, then constrained without a long lock\n\
                         ALTER TABLE {t} ADD COLUMN {c} {ty};\n\
                         UPDATE {t} SET {c} = <value> WHERE {c} IS NULL;  -- in batches on a large table\n\
                         ALTER TABLE {t} ADD CONSTRAINT {chk} CHECK ({c} IS NOT NULL) NOT VALID;\n\
                         ALTER TABLE {t} VALIDATE CONSTRAINT {chk};\n\
                         ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL;",
                        chk = ident(cx.dialect, &format!("{}_{}_not_null", table.name, col.name)),
                    ),
                )
            };
            out.push(
                Hit::new(
                    col.span.clone(),
                    message,
                    "existing rows get NULL in the new column, which the NOT NULL constraint rejects: the statement \
                     passes on an empty development database and fails in production. Give the column a default, or \
                     add it nullable, backfill it and set NOT NULL afterwards",
                )
                .fix(fix),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::db::Dialect;
    use crate::lint::testing::{hits, hits_on};

    const ADS: &str = "CREATE TABLE ads (id bigint PRIMARY KEY);";

    #[test]
    fn flags_a_required_column_without_default() {
        let found = hits("add-not-null-without-default", &[ADS, "ALTER TABLE ads ADD COLUMN slug text NOT NULL;"]);
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.message.starts_with("NOT NULL column slug is added to the existing table ads"));
        let found = hits_on(
            Dialect::Sqlite,
            "add-not-null-without-default",
            &[ADS, "ALTER TABLE ads ADD COLUMN slug text NOT NULL;"],
        );
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.message.ends_with("which SQLite refuses"));
        let new_table = "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int NOT NULL;";
        assert_eq!(hits_on(Dialect::Sqlite, "add-not-null-without-default", &[new_table]).len(), 1);
    }

    #[test]
    fn accepts_defaults_identity_serial_generated_and_new_tables() {
        for ok in [
            "ALTER TABLE ads ADD COLUMN slug text NOT NULL DEFAULT '';",
            "ALTER TABLE ads ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY NOT NULL;",
            "ALTER TABLE ads ADD COLUMN n bigserial NOT NULL;",
            "ALTER TABLE ads ADD COLUMN doubled bigint NOT NULL GENERATED ALWAYS AS (id * 2) STORED;",
            "ALTER TABLE ads ADD COLUMN slug text;",
            "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int NOT NULL;",
        ] {
            assert!(hits("add-not-null-without-default", &[ADS, ok]).is_empty(), "{ok}");
        }
        assert!(
            hits("add-not-null-without-default", &[ADS, "ALTER TABLE ads ADD COLUMN s text NOT NULL DEFAULT NULL;"])
                .len()
                == 1
        );
    }
}
