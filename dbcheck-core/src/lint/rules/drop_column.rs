//! DL202 `drop-column`: `DROP COLUMN` on a table that existed before the migration deletes the
//! column's data and breaks every deployed query that names it. The contract step of an
//! expand/contract rename (the column was copied into a new one by an earlier migration) is only
//! reported as information.

use super::columns::{ident, table_sql};
use super::{Rule, RuleMeta};
use crate::lint::ast::{Action, Stmt};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct DropColumn;

static META: RuleMeta = RuleMeta {
    id: "drop-column",
    code: "DL202",
    summary: "DROP COLUMN on an existing table deletes its data and breaks code that still reads it",
    severity: Severity::Warning,
    dialects: &[],
    default_on: true,
    lock_sensitive: false,
    squawk: &["ban-drop-column"],
    strong_migrations: "remove_column",
    atlas: "DS103",
};

impl Rule for DropColumn {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        // Down migrations are `down-drops-data`'s.
        if cx.down {
            return;
        }
        let Stmt::AlterTable { table, actions } = cx.stmt else { return };
        let key = table.key();
        for a in actions {
            let Action::DropColumn { column, span } = a else { continue };
            if cx.existing_column(table, column).is_none() {
                continue;
            }
            if let Some(e) = cx.history.expansion_of(cx.dialect, &key, column) {
                out.push(
                    Hit::new(
                        span.clone(),
                        format!(
                            "column {column} of {key} is dropped: contract step of the rename to {} started in {}:{}",
                            e.new_column,
                            e.path.display(),
                            e.line
                        ),
                        "this finishes an expand/contract rename. Make sure the release that stopped reading and \
                         writing the old column is deployed everywhere before this migration runs",
                    )
                    .severity(Severity::Info),
                );
                continue;
            }
            out.push(
                Hit::new(
                    span.clone(),
                    format!("column {column} of the existing table {key} is dropped with its data"),
                    "the data is gone unless a backup has it, and instances still running the previous release fail \
                     on every query that names the column (an ORM selecting all mapped fields does). Deploy code that \
                     no longer uses the column first and drop it in a later release",
                )
                .fix(format!(
                    "-- release N: deploy code that no longer reads or writes {key}.{column}\n\
                     -- release N+1:\n\
                     ALTER TABLE {} DROP COLUMN {};",
                    table_sql(cx, table),
                    ident(cx.dialect, column)
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::testing::{hits, hits_on};
    use crate::report::Severity;

    const USERS: &str = "CREATE TABLE users (id bigint PRIMARY KEY, name text, email text);";

    #[test]
    fn flags_dropping_a_column_of_an_existing_table() {
        let found = hits("drop-column", &[USERS, "ALTER TABLE users DROP COLUMN email;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding.severity, Severity::Warning);
        assert!(found[0].finding.message.contains("column email of the existing table users"));
        let found = hits_on(crate::db::Dialect::Sqlite, "drop-column", &[USERS, "ALTER TABLE users DROP email;"]);
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn the_contract_step_of_a_rename_is_information() {
        let expand = "ALTER TABLE users ADD COLUMN display_name text;\nUPDATE users SET display_name = name;";
        let found = hits("drop-column", &[USERS, expand, "ALTER TABLE users DROP COLUMN name;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding.severity, Severity::Info);
        assert!(
            found[0]
                .finding
                .message
                .contains("contract step of the rename to display_name started in migrations/2_m2.sql:2"),
            "{}",
            found[0].finding.message
        );
    }

    #[test]
    fn accepts_columns_added_in_the_same_migration() {
        assert!(
            hits("drop-column", &[USERS, "ALTER TABLE users ADD COLUMN x int;\nALTER TABLE users DROP COLUMN x;"])
                .is_empty()
        );
        assert!(hits("drop-column", &["CREATE TABLE t (a int, b int);\nALTER TABLE t DROP COLUMN b;"]).is_empty());
    }
}
