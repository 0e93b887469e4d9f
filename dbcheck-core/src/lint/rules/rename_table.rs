//! DL206 `rename-table`: renaming a table that existed before the migration breaks every deployed
//! query that still uses the old name.

use super::columns::{ident, table_sql};
use super::{Rule, RuleMeta};
use crate::db::Dialect;
use crate::lint::ast::{Action, Name, Stmt};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct RenameTable;

static META: RuleMeta = RuleMeta {
    id: "rename-table",
    code: "DL206",
    summary: "renaming an existing table breaks code that still uses the old name",
    severity: Severity::Warning,
    dialects: &[],
    default_on: true,
    lock_sensitive: false,
    squawk: &["renaming-table"],
    strong_migrations: "rename_table",
    atlas: "BC101",
};

impl Rule for RenameTable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        match cx.stmt {
            Stmt::AlterTable { table, actions } => {
                for a in actions {
                    if let Action::RenameTable { to, span } = a {
                        hit(cx, table, to, span.clone(), out);
                    }
                }
            }
            Stmt::RenameTable { from, to } => hit(cx, from, to, from.span.start..cx.statement.span.end, out),
            _ => {}
        }
    }
}

fn hit(cx: &Cx<'_>, table: &Name, to: &str, span: std::ops::Range<usize>, out: &mut Vec<Hit>) {
    // The table-rebuild pattern (rename the old one away, create its successor under the name).
    if cx.existing(table).is_none() || super::columns::recreated_later(cx, table) {
        return;
    }
    let (old, new) = (table_sql(cx, table), ident(cx.dialect, to));
    let fix = match cx.dialect {
        Dialect::Postgres => format!(
            "-- rename, and keep the old name working as a view (simple views are updatable):\n\
             ALTER TABLE {old} RENAME TO {new};\n\
             CREATE VIEW {old} AS SELECT * FROM {new};\n\
             -- later, once no deployed code uses {old}:\n\
             DROP VIEW {old};"
        ),
        Dialect::Mysql => format!(
            "RENAME TABLE {old} TO {new};\n\
             CREATE VIEW {old} AS SELECT * FROM {new};  -- updatable: old code keeps working\n\
             -- later, once no deployed code uses {old}:\n\
             DROP VIEW {old};"
        ),
        Dialect::Sqlite => format!(
            "ALTER TABLE {old} RENAME TO {new};\n\
             CREATE VIEW {old} AS SELECT * FROM {new};  -- reads only: SQLite views are not writable\n\
             -- later, once no deployed code uses {old}:\n\
             DROP VIEW {old};"
        ),
    };
    out.push(
        Hit::new(
            span,
            format!("the existing table {} is renamed to {to}", table.key()),
            "instances still running the previous release query the old name and fail until they are replaced, and \
             rolling the code back fails the other way round. Keep the old name alive while both releases run: a view \
             under the old name, dropped in a later release (or copy to a new table and switch in steps)",
        )
        .fix(fix),
    );
}

#[cfg(test)]
mod tests {
    use crate::db::Dialect;
    use crate::lint::testing::{hits, hits_on};

    #[test]
    fn flags_renaming_an_existing_table() {
        let found = hits("rename-table", &["CREATE TABLE ads (id bigint);", "ALTER TABLE ads RENAME TO listings;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding.message, "the existing table ads is renamed to listings");
        assert!(
            found[0].finding.fix_sql.as_deref().unwrap_or("").contains("CREATE VIEW ads AS SELECT * FROM listings;")
        );
        let found = hits_on(
            Dialect::Mysql,
            "rename-table",
            &["CREATE TABLE ads (id bigint);", "RENAME TABLE ads TO listings;"],
        );
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn accepts_tables_created_in_the_same_migration() {
        assert!(
            hits("rename-table", &["CREATE TABLE ads_new (id bigint);\nALTER TABLE ads_new RENAME TO ads;"]).is_empty()
        );
        let rebuild = "ALTER TABLE ads RENAME TO ads_old;\nCREATE TABLE ads (id bigint NOT NULL);\n\
            INSERT INTO ads SELECT id FROM ads_old;\nDROP TABLE ads_old;";
        assert!(hits_on(Dialect::Sqlite, "rename-table", &["CREATE TABLE ads (id bigint);", rebuild]).is_empty());
    }
}
