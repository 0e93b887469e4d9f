//! DL204 `truncate`: `TRUNCATE` of a table that existed before the migration deletes every row;
//! `CASCADE` also empties every table that references it.

use super::{Rule, RuleMeta};
use crate::lint::ast::Stmt;
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct Truncate;

static META: RuleMeta = RuleMeta {
    id: "truncate",
    code: "DL204",
    summary: "TRUNCATE of an existing table deletes every row; CASCADE empties the referencing tables too",
    severity: Severity::Warning,
    dialects: &[],
    default_on: true,
    lock_sensitive: false,
    squawk: &["ban-truncate-cascade"],
    strong_migrations: "",
    atlas: "",
};

impl Rule for Truncate {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        // Down migrations are `down-drops-data`'s.
        if cx.down {
            return;
        }
        let Stmt::Truncate { names, cascade } = cx.stmt else { return };
        for name in names {
            if cx.existing(name).is_none() {
                continue;
            }
            let table = name.key();
            let referencing: Vec<String> = cx
                .before
                .tables
                .values()
                .filter(|t| t.foreign_keys.values().any(|fk| fk.references == table) && t.key() != table)
                .map(|t| t.key())
                .collect();
            let mut hit = Hit::new(
                name.span.clone(),
                format!("every row of the existing table {table} is deleted by TRUNCATE"),
                "a migration runs in every environment, production included: TRUNCATE there deletes live data that \
                 no rollback brings back (and takes an ACCESS EXCLUSIVE lock). Delete exactly the rows you mean with \
                 a filtered DELETE, or keep data resets out of migrations",
            );
            if *cascade {
                let which = if referencing.is_empty() {
                    "every table that references it".to_owned()
                } else {
                    format!("every table that references it ({})", referencing.join(", "))
                };
                hit.message = format!("{}; CASCADE also empties {which}", hit.message);
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

    const SCHEMA: &str = "CREATE TABLE ads (id bigint PRIMARY KEY);\n\
        CREATE TABLE images (id bigint PRIMARY KEY, ad_id bigint REFERENCES ads (id));";

    #[test]
    fn flags_truncate_of_an_existing_table() {
        let found = hits("truncate", &[SCHEMA, "TRUNCATE images;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding.severity, Severity::Warning);
    }

    #[test]
    fn cascade_is_an_error_naming_the_referencing_tables() {
        let found = hits("truncate", &[SCHEMA, "TRUNCATE TABLE ads CASCADE;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding.severity, Severity::Error);
        assert!(found[0].finding.message.ends_with("(images)"), "{}", found[0].finding.message);
    }

    #[test]
    fn accepts_tables_created_in_the_same_migration() {
        assert!(hits("truncate", &["CREATE TABLE staging (a int);\nTRUNCATE staging;"]).is_empty());
    }
}
