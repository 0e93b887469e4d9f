//! DL205 `rename-column`: renaming a column of a table that existed before the migration breaks
//! every deployed query that still uses the old name; the expand/contract sequence does not.

use super::columns::{ident, table_sql};
use super::{Rule, RuleMeta};
use crate::db::Dialect;
use crate::lint::ast::{Action, Stmt};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct RenameColumn;

static META: RuleMeta = RuleMeta {
    id: "rename-column",
    code: "DL205",
    summary: "renaming a column of an existing table breaks code that still uses the old name",
    severity: Severity::Warning,
    dialects: &[],
    default_on: true,
    lock_sensitive: false,
    squawk: &["renaming-column"],
    strong_migrations: "rename_column",
    atlas: "BC102",
};

impl Rule for RenameColumn {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let Stmt::AlterTable { table, actions } = cx.stmt else { return };
        for a in actions {
            let Action::RenameColumn { from, to, span } = a else { continue };
            let Some(old) = cx.existing_column(table, from) else { continue };
            let key = table.key();
            let (t, old_c, new_c) = (table_sql(cx, table), ident(cx.dialect, from), ident(cx.dialect, to));
            let ty = if old.data_type.is_empty() { String::new() } else { format!(" {}", old.data_type) };
            let batch = match cx.dialect {
                Dialect::Mysql => format!("UPDATE {t} SET {new_c} = {old_c} WHERE {new_c} IS NULL LIMIT 10000;"),
                _ => format!(
                    "UPDATE {t} SET {new_c} = {old_c} WHERE ctid IN (SELECT ctid FROM {t} WHERE {new_c} IS NULL AND \
                     {old_c} IS NOT NULL LIMIT 10000);"
                ),
            };
            let batch = if cx.dialect == Dialect::Sqlite {
                format!("UPDATE {t} SET {new_c} = {old_c} WHERE {new_c} IS NULL;")
            } else {
                batch
            };
            out.push(
                Hit::new(
                    span.clone(),
                    format!("column {from} of the existing table {key} is renamed to {to}"),
                    "during the deploy, instances still running the previous release query the old name and fail, and \
                     a rollback of the code fails the other way round. Rename in steps (expand/contract): add the new \
                     column, backfill it in batches, write both (application or trigger), switch reads, and drop the \
                     old column in a later release",
                )
                .fix(format!(
                    "-- migration 1 (expand):\n\
                     ALTER TABLE {t} ADD COLUMN {new_c}{ty};\n\
                     -- migration 2 (backfill, repeat until no row changes):\n\
                     {batch}\n\
                     -- release: write both columns (or a trigger copies {old_c} to {new_c}), then read {new_c}\n\
                     -- migration 3 (contract), once no deployed code uses {old_c}:\n\
                     ALTER TABLE {t} DROP COLUMN {old_c};"
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::db::Dialect;
    use crate::lint::testing::{hits, hits_on};

    const USERS: &str = "CREATE TABLE users (id bigint PRIMARY KEY, name text);";

    #[test]
    fn flags_renaming_a_column_with_an_expand_contract_fix() {
        let found = hits("rename-column", &[USERS, "ALTER TABLE users RENAME COLUMN name TO display_name;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding.message, "column name of the existing table users is renamed to display_name");
        let fix = found[0].finding.fix_sql.clone().unwrap_or_default();
        assert!(fix.contains("ALTER TABLE users ADD COLUMN display_name text;"), "{fix}");
        assert!(fix.contains("ALTER TABLE users DROP COLUMN name;"), "{fix}");
    }

    #[test]
    fn flags_mysql_change_with_another_name() {
        let found = hits_on(
            Dialect::Mysql,
            "rename-column",
            &[
                "CREATE TABLE users (id bigint PRIMARY KEY, name varchar(50));",
                "ALTER TABLE users CHANGE name full_name varchar(50);",
            ],
        );
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn accepts_new_tables_and_same_name_change() {
        assert!(hits("rename-column", &["CREATE TABLE t (a int);\nALTER TABLE t RENAME COLUMN a TO b;"]).is_empty());
        assert!(
            hits_on(
                Dialect::Mysql,
                "rename-column",
                &["CREATE TABLE users (name varchar(50));", "ALTER TABLE users CHANGE name name varchar(80);"]
            )
            .is_empty()
        );
    }
}
