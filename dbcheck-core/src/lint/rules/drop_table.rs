//! DL201 `drop-table`: `DROP TABLE` of a table that existed before the migration deletes its rows
//! for good, and breaks every deployed reader of it; `CASCADE` also drops dependent views and
//! foreign keys.

use super::columns::{recreated_later, table_sql};
use super::{Rule, RuleMeta};
use crate::lint::ast::Stmt;
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct DropTable;

static META: RuleMeta = RuleMeta {
    id: "drop-table",
    code: "DL201",
    summary: "DROP TABLE of an existing table deletes its data and breaks code that still reads it",
    severity: Severity::Warning,
    dialects: &[],
    default_on: true,
    lock_sensitive: false,
    squawk: &["ban-drop-table"],
    strong_migrations: "",
    atlas: "DS102",
};

impl Rule for DropTable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        // Down migrations are `down-drops-data`'s.
        if cx.down {
            return;
        }
        let Stmt::DropTable { names, cascade } = cx.stmt else { return };
        for name in names {
            // The table-rebuild pattern keeps the data under the same name.
            if cx.existing(name).is_none() || recreated_later(cx, name) {
                continue;
            }
            let table = name.key();
            let mut hit = Hit::new(
                name.span.clone(),
                format!("the existing table {table} is dropped with all its rows"),
                "DROP TABLE cannot be undone without a backup, and instances of the application still running the \
                 previous release fail as soon as they touch the table. Ship the code that stops using the table \
                 first, take a backup (`cargo dbcheck backup`), and drop it in a later release; or rename it out of \
                 the way and drop it once nothing complained",
            )
            .fix(format!(
                "-- release N: deploy code that no longer reads or writes {table}\n\
                 -- release N+1, after a backup:\n\
                 ALTER TABLE {t} RENAME TO {archived};\n\
                 -- release N+2, once nothing failed:\n\
                 DROP TABLE {archived};",
                t = table_sql(cx, name),
                archived = super::columns::ident(cx.dialect, &format!("{}_archived", name.name)),
            ));
            if *cascade {
                hit.message =
                    format!("{}; CASCADE also drops the views and foreign keys that depend on it", hit.message);
                hit = hit.severity(Severity::Error);
            }
            out.push(hit);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::testing::hits;
    use crate::report::Severity;

    const ADS: &str = "CREATE TABLE ads (id bigint PRIMARY KEY, title text);";

    #[test]
    fn flags_dropping_an_existing_table() {
        let found = hits("drop-table", &[ADS, "DROP TABLE ads;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding.severity, Severity::Warning);
        assert!(found[0].finding.message.contains("existing table ads"), "{}", found[0].finding.message);
    }

    #[test]
    fn cascade_is_an_error_that_names_dependents() {
        let found = hits("drop-table", &[ADS, "DROP TABLE IF EXISTS ads CASCADE;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding.severity, Severity::Error);
        assert!(found[0].finding.message.contains("views and foreign keys"), "{}", found[0].finding.message);
    }

    #[test]
    fn accepts_tables_created_in_the_same_migration_and_unknown_tables() {
        assert!(hits("drop-table", &["CREATE TABLE tmp (a int);\nDROP TABLE tmp;"]).is_empty());
        assert!(hits("drop-table", &[ADS, "DROP TABLE IF EXISTS nothing_here;"]).is_empty());
        let rebuild = "CREATE TABLE ads_new (id bigint PRIMARY KEY, title text NOT NULL);\n\
            INSERT INTO ads_new SELECT id, coalesce(title, '') FROM ads;\n\
            DROP TABLE ads;\n\
            ALTER TABLE ads_new RENAME TO ads;";
        assert!(hits("drop-table", &[ADS, rebuild]).is_empty());
    }
}
