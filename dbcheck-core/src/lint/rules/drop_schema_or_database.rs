//! DL203 `drop-schema-or-database`: `DROP SCHEMA` / `DROP DATABASE` in a migration deletes every
//! object in it at once.

use super::{Rule, RuleMeta};
use crate::lint::ast::Stmt;
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct DropSchemaOrDatabase;

static META: RuleMeta = RuleMeta {
    id: "drop-schema-or-database",
    code: "DL203",
    summary: "DROP SCHEMA or DROP DATABASE deletes every table in it",
    severity: Severity::Error,
    dialects: &[],
    default_on: true,
    lock_sensitive: false,
    squawk: &["ban-drop-database"],
    strong_migrations: "",
    atlas: "DS101",
};

impl Rule for DropSchemaOrDatabase {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let Stmt::DropNamespace { what, names, cascade } = cx.stmt else { return };
        let what = what.to_ascii_lowercase();
        for name in names {
            let tables = cx
                .at_start
                .tables
                .values()
                .filter(|t| t.schema.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(&name.name)))
                .count();
            let content = match tables {
                0 => String::new(),
                1 => " and the table it holds".to_owned(),
                n => format!(" and the {n} tables it holds"),
            };
            let cascade = if *cascade { " with CASCADE" } else { "" };
            out.push(Hit::new(
                name.span.clone(),
                format!("{what} {} is dropped{cascade}{content}", name.name),
                format!(
                    "a migration that drops a whole {what} deletes every object and row in it, and runs wherever the \
                     migrations run — including production. Drop the objects it holds one by one, in releases that \
                     first stop using them, or do it by hand after a backup"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::testing::{hits, hits_on};

    #[test]
    fn flags_drop_schema_and_drop_database() {
        let found = hits(
            "drop-schema-or-database",
            &["CREATE SCHEMA app;\nCREATE TABLE app.t (a int);", "DROP SCHEMA app CASCADE;"],
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding.message, "schema app is dropped with CASCADE and the table it holds");
        let found = hits_on(crate::db::Dialect::Mysql, "drop-schema-or-database", &["DROP DATABASE IF EXISTS shop;"]);
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn accepts_other_drops() {
        assert!(
            hits("drop-schema-or-database", &["CREATE TABLE t (a int);", "DROP TABLE t;\nDROP INDEX i;"]).is_empty()
        );
    }
}
