//! DL109 `unique-without-index`: a primary key or unique constraint added to a table that already
//! exists builds its index under an `ACCESS EXCLUSIVE` lock, unless it adopts an index built
//! beforehand with `CONCURRENTLY` (`USING INDEX`).

use super::{PG, Rule, RuleMeta};
use crate::lint::ast::{Action, ConstraintKind};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct UniqueWithoutIndex;

static META: RuleMeta = RuleMeta {
    id: "unique-without-index",
    code: "DL109",
    summary: "ADD PRIMARY KEY / UNIQUE on an existing table builds the index under an ACCESS EXCLUSIVE lock",
    severity: Severity::Warning,
    dialects: PG,
    default_on: true,
    lock_sensitive: true,
    squawk: &["disallowed-unique-constraint", "adding-serial-primary-key-field"],
    strong_migrations: "",
    atlas: "",
};

const HELP: &str = "Building the constraint's index holds an ACCESS EXCLUSIVE lock on the table: no reads and no \
                    writes until every row is indexed. Build a unique index CONCURRENTLY first, in a migration \
                    outside a transaction, then attach it with ADD CONSTRAINT … USING INDEX, which is instant";

impl Rule for UniqueWithoutIndex {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let Some((table, actions)) = cx.alter_existing() else { return };
        let t = table.key();
        for a in actions {
            match a {
                Action::AddConstraint { name, kind, using_index: false, span, .. } => {
                    let (word, columns) = match kind {
                        ConstraintKind::Unique(c) => ("UNIQUE", c),
                        ConstraintKind::PrimaryKey(c) => ("PRIMARY KEY", c),
                        _ => continue,
                    };
                    let what =
                        name.as_deref().map_or_else(|| format!("a {word} constraint"), |n| format!("{word} {n}"));
                    let mut hit = Hit::new(
                        span.clone(),
                        format!("{what} is added to the existing table {t} without USING INDEX"),
                        HELP,
                    )
                    .on_table(t.clone());
                    if !columns.is_empty() {
                        let suffix = if word == "UNIQUE" { "key" } else { "pkey" };
                        let constraint =
                            name.clone().unwrap_or_else(|| format!("{}_{}_{suffix}", table.name, columns.join("_")));
                        let index = format!("{constraint}_idx");
                        hit = hit.fix(format!(
                            "-- in a migration of its own, outside a transaction (sqlx: `-- no-transaction`):\n\
                             CREATE UNIQUE INDEX CONCURRENTLY {index} ON {t} ({cols});\n\
                             -- then, in the next migration:\n\
                             ALTER TABLE {t} ADD CONSTRAINT {constraint} {word} USING INDEX {index};",
                            cols = columns.join(", ")
                        ));
                    }
                    out.push(hit);
                }
                Action::AddColumn(col) if col.primary_key || col.unique => {
                    let word = if col.primary_key { "PRIMARY KEY" } else { "UNIQUE" };
                    out.push(
                        Hit::new(
                            col.span.clone(),
                            format!(
                                "column {} is added to the existing table {t} as {word}, which builds its index under \
                                 an ACCESS EXCLUSIVE lock",
                                col.name
                            ),
                            format!(
                                "{HELP}. Add the column plainly, fill it in batches, build the index CONCURRENTLY, then \
                                 attach it"
                            ),
                        )
                        .on_table(t.clone()),
                    );
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::testing::hits;

    const RULE: &str = "unique-without-index";
    const ADS: &str = "CREATE TABLE ads (id bigint, slug text);";

    #[test]
    fn flags_unique_and_primary_keys_built_in_place() {
        let found = hits(RULE, &[ADS, "ALTER TABLE ads ADD CONSTRAINT ads_slug_key UNIQUE (slug);"]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].finding.message,
            "UNIQUE ads_slug_key is added to the existing table ads without USING INDEX"
        );
        let fix = found[0].finding.fix_sql.clone().unwrap_or_default();
        assert!(fix.contains("\nCREATE UNIQUE INDEX CONCURRENTLY ads_slug_key_idx ON ads (slug);\n"), "{fix}");
        assert!(fix.ends_with("ALTER TABLE ads ADD CONSTRAINT ads_slug_key UNIQUE USING INDEX ads_slug_key_idx;"));
        let found = hits(RULE, &[ADS, "ALTER TABLE ads ADD PRIMARY KEY (id);"]);
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.fix_sql.as_deref().unwrap_or("").contains("ads_id_pkey PRIMARY KEY USING INDEX"));
        let found = hits(RULE, &[ADS, "ALTER TABLE ads ADD COLUMN n bigserial PRIMARY KEY;"]);
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.message.contains("as PRIMARY KEY"));
    }

    #[test]
    fn accepts_using_index_and_new_tables() {
        let sql = "ALTER TABLE ads ADD CONSTRAINT ads_slug_key UNIQUE USING INDEX ads_slug_idx;";
        assert!(hits(RULE, &[ADS, "CREATE UNIQUE INDEX ads_slug_idx ON ads (slug);", sql]).is_empty());
        assert!(hits(RULE, &["CREATE TABLE t (a int);\nALTER TABLE t ADD PRIMARY KEY (a);"]).is_empty());
        assert!(hits(RULE, &[ADS, "ALTER TABLE ads ADD COLUMN note text;"]).is_empty());
    }
}
