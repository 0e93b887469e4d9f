//! DL101 `require-concurrent-index`: `CREATE INDEX` without `CONCURRENTLY` on a table that already
//! exists blocks every write to it for the whole build.

use super::{PG, Rule, RuleMeta};
use crate::lint::ast::Stmt;
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct RequireConcurrentIndex;

static META: RuleMeta = RuleMeta {
    id: "require-concurrent-index",
    code: "DL101",
    summary: "CREATE INDEX without CONCURRENTLY on an existing table blocks writes while it builds",
    severity: Severity::Warning,
    dialects: PG,
    default_on: true,
    lock_sensitive: true,
    squawk: &["require-concurrent-index-creation"],
    strong_migrations: "add_index",
    atlas: "PG101",
};

impl Rule for RequireConcurrentIndex {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        let Stmt::CreateIndex { table, concurrently: false, name, unique } = cx.stmt else { return };
        if cx.existing(table).is_none() {
            return;
        }
        let text = cx.statement_text();
        let safe = concurrent_form(text);
        let unique_word = if *unique { "unique " } else { "" };
        let what =
            name.as_deref().map_or_else(|| format!("a {unique_word}index"), |n| format!("{unique_word}index {n}"));
        out.push(
            Hit::new(
                cx.statement.span.clone(),
                format!("{what} is built on the existing table {} without CONCURRENTLY", table.key()),
                "CREATE INDEX takes a SHARE lock: every INSERT, UPDATE and DELETE on the table waits until the build \
                 finishes. Build it with CONCURRENTLY in a migration that does not run in a transaction",
            )
            .fix(format!("-- in a migration of its own, outside a transaction (sqlx: `-- no-transaction`)\n{safe};"))
            .on_table(table.key()),
        );
    }
}

/// `text` with `CONCURRENTLY` after `INDEX`.
fn concurrent_form(text: &str) -> String {
    let upper = text.to_ascii_uppercase();
    match upper.find("INDEX") {
        Some(n) => format!("{}INDEX CONCURRENTLY{}", &text[..n], &text[n + 5..]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::testing::hits;

    const TABLE: &str = "CREATE TABLE ads (id bigint PRIMARY KEY, slug text);";

    #[test]
    fn flags_a_plain_index_on_an_existing_table() {
        let found = hits("require-concurrent-index", &[TABLE, "CREATE INDEX ads_slug_idx ON ads (slug);"]);
        assert_eq!(found.len(), 1);
        assert!(found[0].finding.message.contains("index ads_slug_idx"), "{}", found[0].finding.message);
        assert_eq!(
            found[0].finding.fix_sql.as_deref().map(|s| s.lines().last()),
            Some(Some("CREATE INDEX CONCURRENTLY ads_slug_idx ON ads (slug);"))
        );
    }

    #[test]
    fn accepts_concurrently_and_tables_created_in_the_same_migration() {
        assert!(
            hits(
                "require-concurrent-index",
                &[TABLE, "-- no-transaction\nCREATE INDEX CONCURRENTLY ads_slug_idx ON ads (slug);"]
            )
            .is_empty()
        );
        assert!(hits("require-concurrent-index", &["CREATE TABLE t (a int);\nCREATE INDEX ON t (a);"]).is_empty());
    }
}
