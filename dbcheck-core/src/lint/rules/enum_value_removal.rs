//! DL210 `enum-value-removal`: a change that takes a label away from an existing enum —
//! `ALTER TYPE … RENAME VALUE`, re-creating the type without some of its labels, or a MySQL
//! `MODIFY` of an `ENUM` column to a list that lacks some.

use super::columns::mysql_enum_labels;
use super::{Rule, RuleMeta};
use crate::lint::ast::{Action, Stmt};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct EnumValueRemoval;

static META: RuleMeta = RuleMeta {
    id: "enum-value-removal",
    code: "DL210",
    summary: "renaming or removing a label of an existing enum breaks rows and code that use it",
    severity: Severity::Warning,
    dialects: &[],
    default_on: true,
    lock_sensitive: false,
    squawk: &[],
    strong_migrations: "",
    atlas: "",
};

const HELP: &str = "rows holding the label make the conversion fail (MySQL outside strict mode turns them into ''), \
     and deployed code that still writes the label fails. Move the rows to another label in an earlier migration, \
     ship code that no longer uses it, and only then remove it";

impl Rule for EnumValueRemoval {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        match cx.stmt {
            Stmt::RenameEnumValue { name, from, to } => {
                if !cx.at_start.enums.contains_key(&name.key()) {
                    return;
                }
                out.push(Hit::new(
                    cx.statement.span.clone(),
                    format!("label '{from}' of the existing enum {} is renamed to '{to}'", name.key()),
                    "stored rows follow the rename, but deployed code that still writes or compares the old label \
                     fails or silently matches nothing. Add the new label (ALTER TYPE … ADD VALUE), move code and rows \
                     to it, and stop using the old one before removing it",
                ));
            }
            Stmt::CreateEnum { name, labels } => {
                // Dropped (or renamed away) and re-created in this migration: compare with the labels it had.
                let Some(old) = cx.at_start.enums.get(&name.key()) else { return };
                if cx.before.enums.contains_key(&name.key()) {
                    return;
                }
                let missing: Vec<&str> =
                    old.labels.iter().filter(|l| !labels.contains(l)).map(String::as_str).collect();
                if missing.is_empty() {
                    return;
                }
                out.push(Hit::new(
                    cx.statement.span.clone(),
                    format!("the enum {} is re-created without {}", name.key(), quoted(&missing)),
                    HELP,
                ));
            }
            Stmt::AlterTable { table, actions } => {
                for a in actions {
                    let Action::AlterType { column, new_type, span, .. } = a else { continue };
                    if cx.existing_column(table, column).is_none() {
                        continue;
                    }
                    let Some(old) = cx.column(table, column) else { continue };
                    let (Some(before), Some(after)) = (mysql_enum_labels(&old.data_type), mysql_enum_labels(new_type))
                    else {
                        continue;
                    };
                    let missing: Vec<&str> = before.iter().filter(|l| !after.contains(l)).map(String::as_str).collect();
                    if missing.is_empty() {
                        continue;
                    }
                    out.push(Hit::new(
                        span.clone(),
                        format!(
                            "ENUM column {column} of the existing table {} loses {}",
                            table.key(),
                            quoted(&missing)
                        ),
                        HELP,
                    ));
                }
            }
            _ => {}
        }
    }
}

/// `'a'`, `'a' and 'b'`, `'a', 'b' and 'c'`, prefixed with "label" or "labels".
fn quoted(labels: &[&str]) -> String {
    let q: Vec<String> = labels.iter().map(|l| format!("'{l}'")).collect();
    match q.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("labels {} and {last}", rest.join(", ")),
        _ => format!("label {}", q.join("")),
    }
}

#[cfg(test)]
mod tests {
    use crate::db::Dialect;
    use crate::lint::testing::{hits, hits_on};

    const MOOD: &str = "CREATE TYPE status AS ENUM ('draft', 'live', 'sold');\nCREATE TABLE ads (id bigint, s status);";

    #[test]
    fn flags_rename_value_and_recreation_without_a_label() {
        let found = hits("enum-value-removal", &[MOOD, "ALTER TYPE status RENAME VALUE 'sold' TO 'closed';"]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding.message, "label 'sold' of the existing enum status is renamed to 'closed'");
        let recreate = "ALTER TYPE status RENAME TO status_old;\n\
            CREATE TYPE status AS ENUM ('draft', 'live');\n\
            ALTER TABLE ads ALTER COLUMN s TYPE status USING s::text::status;\n\
            DROP TYPE status_old;";
        let found = hits("enum-value-removal", &[MOOD, recreate]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding.message, "the enum status is re-created without label 'sold'");
    }

    #[test]
    fn flags_mysql_enum_columns_losing_labels() {
        let found = hits_on(
            Dialect::Mysql,
            "enum-value-removal",
            &[
                "CREATE TABLE ads (id bigint, s ENUM('draft','live','sold'));",
                "ALTER TABLE ads MODIFY s ENUM('live') NOT NULL;",
            ],
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].finding.message, "ENUM column s of the existing table ads loses labels 'draft' and 'sold'");
    }

    #[test]
    fn accepts_added_labels_and_new_types() {
        let recreate = "DROP TYPE status;\nCREATE TYPE status AS ENUM ('draft', 'live', 'sold', 'expired');";
        assert!(hits("enum-value-removal", &[MOOD, recreate]).is_empty());
        assert!(
            hits("enum-value-removal", &["CREATE TYPE t AS ENUM ('a');\nALTER TYPE t RENAME VALUE 'a' TO 'b';"])
                .is_empty()
        );
        assert!(
            hits_on(
                Dialect::Mysql,
                "enum-value-removal",
                &["CREATE TABLE ads (s ENUM('a','b'));", "ALTER TABLE ads MODIFY s ENUM('a','b','c');"]
            )
            .is_empty()
        );
    }
}
