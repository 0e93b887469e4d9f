//! DL103 `require-concurrent-index-drop`: `DROP INDEX` without `CONCURRENTLY` on an index of a
//! table that already exists takes an `ACCESS EXCLUSIVE` lock on the table.

use super::{PG, Rule, RuleMeta};
use crate::lint::ast::{Stmt, index_table};
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct RequireConcurrentIndexDrop;

static META: RuleMeta = RuleMeta {
    id: "require-concurrent-index-drop",
    code: "DL103",
    summary: "DROP INDEX without CONCURRENTLY on an existing table blocks reads and writes while it waits",
    severity: Severity::Warning,
    dialects: PG,
    default_on: true,
    lock_sensitive: true,
    squawk: &["require-concurrent-index-deletion"],
    strong_migrations: "remove_index",
    atlas: "PG102",
};

impl Rule for RequireConcurrentIndexDrop {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let Stmt::DropIndex { names, concurrently: false } = cx.stmt else { return };
        // Indexes of tables that existed before the migration (and the index with them).
        let dropped: Vec<(&str, String)> =
            names.iter().filter_map(|n| index_table(cx.at_start, n).map(|t| (cx.source(&n.span), t.key()))).collect();
        let Some((_, table)) = dropped.first() else { return };
        let list = dropped.iter().map(|(i, _)| *i).collect::<Vec<_>>().join(", ");
        let (what, on) = if dropped.len() == 1 {
            (format!("index {list}"), format!("the existing table {table} is"))
        } else {
            let mut tables: Vec<&str> = dropped.iter().map(|(_, t)| t.as_str()).collect();
            tables.dedup();
            let noun = if tables.len() == 1 { "table" } else { "tables" };
            (format!("indexes {list}"), format!("the existing {noun} {} are", tables.join(", ")))
        };
        let if_exists = if cx.statement_text().to_ascii_uppercase().contains("IF EXISTS") { "IF EXISTS " } else { "" };
        let drops: Vec<String> =
            dropped.iter().map(|(i, _)| format!("DROP INDEX CONCURRENTLY {if_exists}{i};")).collect();
        out.push(
            Hit::new(cx.statement.span.clone(), format!("{what} of {on} dropped without CONCURRENTLY"), HELP)
                .fix(format!(
                    "-- in a migration of its own, outside a transaction (sqlx: `-- no-transaction`), one index per \
                     statement\n{}",
                    drops.join("\n")
                ))
                .on_table(table.clone()),
        );
    }
}

const HELP: &str = "DROP INDEX takes an ACCESS EXCLUSIVE lock on the table: it waits for every query running on \
                    it, and every query that arrives meanwhile, reads included, queues behind it. DROP INDEX \
                    CONCURRENTLY waits without blocking anyone; it cannot run in a transaction";

#[cfg(test)]
mod tests {
    use crate::lint::testing::hits;

    const RULE: &str = "require-concurrent-index-drop";
    const TABLE: &str = "CREATE TABLE ads (id bigint PRIMARY KEY, slug text, title text);\n\
                         CREATE INDEX ads_slug_idx ON ads (slug);\nCREATE INDEX ads_title_idx ON ads (title);";

    #[test]
    fn flags_a_plain_drop_of_an_index_of_an_existing_table() {
        let found = hits(RULE, &[TABLE, "DROP INDEX IF EXISTS ads_slug_idx;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].finding.message,
            "index ads_slug_idx of the existing table ads is dropped without CONCURRENTLY"
        );
        assert_eq!(found[0].table.as_deref(), Some("ads"));
        let fix = found[0].finding.fix_sql.clone().unwrap_or_default();
        assert!(fix.ends_with("\nDROP INDEX CONCURRENTLY IF EXISTS ads_slug_idx;"), "{fix}");
    }

    #[test]
    fn one_finding_for_several_indexes_with_one_fix_line_each() {
        let found = hits(RULE, &[TABLE, "DROP INDEX ads_slug_idx, ads_title_idx;"]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].finding.message,
            "indexes ads_slug_idx, ads_title_idx of the existing table ads are dropped without CONCURRENTLY"
        );
        let fix = found[0].finding.fix_sql.clone().unwrap_or_default();
        assert_eq!(fix.lines().filter(|l| l.starts_with("DROP INDEX CONCURRENTLY")).count(), 2, "{fix}");
    }

    #[test]
    fn accepts_concurrently_new_tables_and_unknown_indexes() {
        assert!(hits(RULE, &[TABLE, "-- no-transaction\nDROP INDEX CONCURRENTLY ads_slug_idx;"]).is_empty());
        assert!(
            hits(RULE, &["CREATE TABLE t (a int);\nCREATE INDEX t_a_idx ON t (a);\nDROP INDEX t_a_idx;"]).is_empty()
        );
        assert!(hits(RULE, &[TABLE, "DROP INDEX IF EXISTS no_such_idx;"]).is_empty());
    }
}
