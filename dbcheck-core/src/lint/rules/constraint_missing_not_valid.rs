//! DL107 `constraint-missing-not-valid`: a foreign key or check added to a table that already
//! exists without `NOT VALID` checks every row while it holds its lock (and, for a foreign key,
//! a lock on the referenced table too).

use super::{PG, Rule, RuleMeta};
use crate::lint::ast::{Action, ConstraintKind};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct ConstraintMissingNotValid;

static META: RuleMeta = RuleMeta {
    id: "constraint-missing-not-valid",
    code: "DL107",
    summary: "a foreign key or check added to an existing table without NOT VALID scans it under a lock",
    severity: Severity::Warning,
    dialects: PG,
    default_on: true,
    lock_sensitive: true,
    squawk: &["constraint-missing-not-valid", "adding-foreign-key-constraint"],
    strong_migrations: "add_foreign_key",
    atlas: "",
};

impl Rule for ConstraintMissingNotValid {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let Some((table, actions)) = cx.alter_existing() else { return };
        let t = table.key();
        for a in actions {
            match a {
                Action::AddConstraint { name, kind, not_valid: false, span, .. } => {
                    let (what, lock, fallback) = match kind {
                        ConstraintKind::ForeignKey { columns, references } => (
                            name.as_deref().map_or_else(
                                || format!("a foreign key to {references}"),
                                |n| format!("foreign key {n} to {references}"),
                            ),
                            format!("a SHARE ROW EXCLUSIVE lock on {t} and {references}, which blocks their writes"),
                            format!("{}_{}_fkey", table.name, columns.join("_")),
                        ),
                        ConstraintKind::Check(_) => (
                            name.as_deref().map_or_else(|| "a check".to_owned(), |n| format!("check {n}")),
                            "an ACCESS EXCLUSIVE lock, which blocks its reads and writes".to_owned(),
                            format!("{}_check", table.name),
                        ),
                        _ => continue,
                    };
                    let source = cx.source(span).trim();
                    let (add, constraint) = match name {
                        Some(n) => (source.to_owned(), n.clone()),
                        None => (named(source, &fallback), fallback),
                    };
                    out.push(
                        Hit::new(
                            span.clone(),
                            format!("{what} is added to the existing table {t} without NOT VALID"),
                            format!(
                                "Without NOT VALID PostgreSQL checks every existing row while it holds {lock}. Add it \
                                 NOT VALID (new and changed rows are checked at once, the lock is brief) and VALIDATE \
                                 it in a later migration: validation only takes a SHARE UPDATE EXCLUSIVE lock"
                            ),
                        )
                        .fix(format!(
                            "ALTER TABLE {t} {add} NOT VALID;\n-- in a later migration:\nALTER TABLE {t} VALIDATE \
                             CONSTRAINT {constraint};"
                        ))
                        .on_table(t.clone()),
                    );
                }
                Action::AddColumn(col) => {
                    let Some(references) = &col.references else { continue };
                    let fk = format!("{}_{}_fkey", table.name, col.name);
                    out.push(
                        Hit::new(
                            col.span.clone(),
                            format!(
                                "column {} is added to the existing table {t} with REFERENCES {references}, which \
                                 checks the new key under locks on both tables",
                                col.name
                            ),
                            "A column added with REFERENCES creates a validated foreign key: PostgreSQL scans the \
                             table while holding a SHARE ROW EXCLUSIVE lock on both tables, which blocks their \
                             writes. Add the column, then the foreign key NOT VALID, and VALIDATE it in a later \
                             migration",
                        )
                        .fix(format!(
                            "ALTER TABLE {t} ADD COLUMN {c} {ty};\nALTER TABLE {t} ADD CONSTRAINT {fk} FOREIGN KEY \
                             ({c}) REFERENCES {references} NOT VALID;\n-- in a later migration:\nALTER TABLE {t} \
                             VALIDATE CONSTRAINT {fk};",
                            c = col.name,
                            ty = col.type_text.trim()
                        ))
                        .on_table(t.clone()),
                    );
                }
                _ => {}
            }
        }
    }
}

/// `ADD <constraint>` rewritten as `ADD CONSTRAINT <name> <constraint>`.
fn named(add: &str, name: &str) -> String {
    let rest = add.get(3..).map_or("", str::trim_start);
    format!("ADD CONSTRAINT {name} {rest}")
}

#[cfg(test)]
mod tests {
    use crate::lint::testing::hits;

    const RULE: &str = "constraint-missing-not-valid";
    const TABLES: &str = "CREATE TABLE users (id bigint PRIMARY KEY);\n\
                          CREATE TABLE ads (id bigint PRIMARY KEY, user_id bigint, price integer);";

    #[test]
    fn flags_a_validated_foreign_key_on_an_existing_table() {
        let found = hits(
            RULE,
            &[TABLES, "ALTER TABLE ads ADD CONSTRAINT ads_user_fk FOREIGN KEY (user_id) REFERENCES users (id);"],
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].finding.message,
            "foreign key ads_user_fk to users is added to the existing table ads without NOT VALID"
        );
        assert_eq!(
            found[0].finding.fix_sql.as_deref(),
            Some(
                "ALTER TABLE ads ADD CONSTRAINT ads_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n\
                 -- in a later migration:\nALTER TABLE ads VALIDATE CONSTRAINT ads_user_fk;"
            )
        );
    }

    #[test]
    fn names_an_unnamed_check_in_the_fix_and_flags_a_referencing_column() {
        let found = hits(RULE, &[TABLES, "ALTER TABLE ads ADD CHECK (price >= 0);"]);
        assert_eq!(found.len(), 1);
        let fix = found[0].finding.fix_sql.clone().unwrap_or_default();
        assert!(fix.starts_with("ALTER TABLE ads ADD CONSTRAINT ads_check CHECK (price >= 0) NOT VALID;"), "{fix}");
        let found = hits(RULE, &[TABLES, "ALTER TABLE ads ADD COLUMN owner_id bigint REFERENCES users;"]);
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.message.contains("with REFERENCES users"));
    }

    #[test]
    fn accepts_not_valid_new_tables_and_other_constraints() {
        for sql in [
            "ALTER TABLE ads ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
            "ALTER TABLE ads ADD CONSTRAINT c CHECK (price >= 0) NOT VALID;\nALTER TABLE ads VALIDATE CONSTRAINT c;",
            "ALTER TABLE ads ADD COLUMN note text;",
            "CREATE TABLE t (a int, user_id bigint REFERENCES users);\nALTER TABLE t ADD CHECK (a > 0);",
        ] {
            assert!(hits(RULE, &[TABLES, sql]).is_empty(), "{sql}");
        }
    }
}
