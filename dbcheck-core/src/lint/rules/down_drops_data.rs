//! DL407 `down-drops-data`: a down (revert) migration that drops a table or column, truncates, or
//! deletes every row: rolling back silently loses the rows written since the up migration ran.

use super::columns::{ident, table_sql};
use super::{Rule, RuleMeta};
use crate::db::Dialect;
use crate::lint::ast::{Action, Name, Stmt};
use crate::lint::{Cx, Hit};
use crate::report::Severity;
use crate::sql::statements;

/// See the module docs.
#[derive(Debug)]
pub struct DownDropsData;

static META: RuleMeta = RuleMeta {
    id: "down-drops-data",
    code: "DL407",
    summary: "a down migration drops or deletes data written since the up migration ran",
    severity: Severity::Warning,
    dialects: &[],
    default_on: true,
    lock_sensitive: false,
    squawk: &[],
    strong_migrations: "",
    atlas: "",
};

const HELP: &str = "a rollback runs when something already went wrong, often hours after the up migration: every row \
     written since then is deleted without a trace. Archive the data first, or make the down migration refuse to run \
     while there is data to lose";

impl Rule for DownDropsData {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        if !cx.down {
            return;
        }
        match cx.stmt {
            Stmt::DropTable { names, .. } | Stmt::Truncate { names, .. } => {
                let verb = if matches!(cx.stmt, Stmt::DropTable { .. }) { "drops table" } else { "truncates" };
                for name in names.iter().filter(|n| cx.existing(n).is_some() && !kept(cx, n)) {
                    out.push(
                        Hit::new(
                            name.span.clone(),
                            format!("the down migration {verb} {} with every row written since the up ran", name.key()),
                            HELP,
                        )
                        .fix(guard(cx, name, None)),
                    );
                }
            }
            Stmt::Delete { table, filtered: false } if cx.existing(table).is_some() && !kept(cx, table) => out.push(
                Hit::new(
                    cx.statement.span.clone(),
                    format!("the down migration deletes every row of {}", table.key()),
                    HELP,
                )
                .fix(guard(cx, table, None)),
            ),
            Stmt::AlterTable { table, actions } => {
                for a in actions {
                    let Action::DropColumn { column, span } = a else { continue };
                    if cx.existing_column(table, column).is_none() || kept(cx, table) {
                        continue;
                    }
                    out.push(
                        Hit::new(
                            span.clone(),
                            format!(
                                "the down migration drops column {column} of {} with the values written since the up ran",
                                table.key()
                            ),
                            HELP,
                        )
                        .fix(guard(cx, table, Some(column))),
                    );
                }
            }
            _ => {}
        }
    }
}

/// Whether an earlier statement of the down migration already guards or archives `table`'s
/// data: a block that raises an exception (`RAISE EXCEPTION`, MySQL `SIGNAL`), or a copy out of it
/// (`CREATE TABLE … AS`, `INSERT INTO … SELECT`, `COPY … TO`), naming the table.
fn kept(cx: &Cx<'_>, table: &Name) -> bool {
    let Some(before) = cx.text.get(..cx.statement.span.start) else { return false };
    let name = table.name.to_ascii_lowercase();
    statements(before, cx.dialect).iter().any(|st| {
        let text = st.text.to_ascii_lowercase();
        let words: Vec<&str> =
            text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
        let has = |w: &str| words.contains(&w);
        let names_table = has(&name);
        let guard = has("raise") || has("signal");
        let copy = (words.first() == Some(&"create") && has("as") && (has("select") || has("table")))
            || (words.first() == Some(&"insert") && has("select"))
            || (words.first() == Some(&"copy") && has("to"));
        names_table && (guard || copy)
    })
}

/// SQL that refuses the rollback while there is data to lose (PostgreSQL), or archives it.
fn guard(cx: &Cx<'_>, table: &Name, column: Option<&str>) -> String {
    let t = table_sql(cx, table);
    let filter = column.map(|c| format!(" WHERE {} IS NOT NULL", ident(cx.dialect, c))).unwrap_or_default();
    let what = column.map_or_else(|| table.key(), |c| format!("{}.{c}", table.key()));
    let archive = ident(cx.dialect, &format!("{}_rolled_back", table.name));
    let key = match column {
        Some(c) => {
            let pk =
                cx.table(table).and_then(|t| t.primary_key.as_ref()).map(|pk| pk.columns.clone()).unwrap_or_default();
            let mut cols: Vec<String> = pk.iter().map(|k| ident(cx.dialect, k)).collect();
            cols.push(ident(cx.dialect, c));
            cols.join(", ")
        }
        None => "*".to_owned(),
    };
    match cx.dialect {
        Dialect::Postgres => format!(
            "-- refuse to lose data:\n\
             DO $$ BEGIN\n  IF EXISTS (SELECT 1 FROM {t}{filter}) THEN\n    RAISE EXCEPTION '{what} has data: archive it before rolling back';\n  END IF;\nEND $$;\n\
             -- or keep it:\n\
             CREATE TABLE {archive} AS SELECT {key} FROM {t}{filter};"
        ),
        _ => format!("-- keep the data before it goes:\nCREATE TABLE {archive} AS SELECT {key} FROM {t}{filter};"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::db::Dialect;
    use crate::lint::{LintFinding, LintOptions, lint};
    use crate::migrations::{Discovery, Layout};

    /// Lint one up migration with its down migration (written to a temp dir).
    fn lint_down(history: &str, up: &str, down: &str) -> Vec<LintFinding> {
        let dir = tempfile::tempdir().unwrap();
        let down_path = dir.path().join("2_m2.down.sql");
        std::fs::write(&down_path, down).unwrap();
        let first = crate::lint::testing::migration(1, history, false);
        let mut second = crate::lint::testing::migration(2, up, false);
        second.down_path = Some(down_path);
        let discovery = Discovery {
            dir: PathBuf::from("migrations"),
            layout: Some(Layout::Sqlx),
            migrations: vec![first, second],
            findings: Vec::new(),
        };
        lint(&discovery, Dialect::Postgres, &LintOptions::default())
            .findings
            .into_iter()
            .filter(|f| f.rule == "down-drops-data")
            .collect()
    }

    const USERS: &str = "CREATE TABLE users (id bigint PRIMARY KEY);";

    #[test]
    fn flags_drops_truncates_and_unfiltered_deletes_in_down_migrations() {
        let found = lint_down(USERS, "CREATE TABLE ads (id bigint PRIMARY KEY);", "DROP TABLE ads;");
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].finding.message,
            "the down migration drops table ads with every row written since the up ran"
        );
        let found = lint_down(USERS, "ALTER TABLE users ADD COLUMN bio text;", "ALTER TABLE users DROP COLUMN bio;");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].finding.fix_sql.as_deref().unwrap_or("").contains("SELECT 1 FROM users WHERE bio IS NOT NULL")
        );
        assert!(
            found[0]
                .finding
                .fix_sql
                .as_deref()
                .unwrap_or("")
                .contains("SELECT id, bio FROM users WHERE bio IS NOT NULL")
        );
        assert_eq!(lint_down(USERS, "INSERT INTO users VALUES (1);", "DELETE FROM users;\nTRUNCATE users;").len(), 2);
    }

    #[test]
    fn accepts_filtered_deletes_and_up_migrations() {
        assert!(lint_down(USERS, "INSERT INTO users VALUES (1);", "DELETE FROM users WHERE id = 1;").is_empty());
        let guarded = "DO $$ BEGIN\n  IF EXISTS (SELECT 1 FROM users WHERE bio IS NOT NULL) THEN\n    \
            RAISE EXCEPTION 'users.bio has data';\n  END IF;\nEND $$;\nALTER TABLE users DROP COLUMN bio;";
        assert!(lint_down(USERS, "ALTER TABLE users ADD COLUMN bio text;", guarded).is_empty());
        let archived = "CREATE TABLE ads_rolled_back AS SELECT * FROM ads;\nDROP TABLE ads;";
        assert!(lint_down(USERS, "CREATE TABLE ads (id bigint PRIMARY KEY);", archived).is_empty());
        // A guard about another table does not count.
        let other = "CREATE TABLE users_copy AS SELECT * FROM users;\nDROP TABLE ads;";
        assert_eq!(lint_down(USERS, "CREATE TABLE ads (id bigint PRIMARY KEY);", other).len(), 1);
        assert!(crate::lint::testing::hits("down-drops-data", &[USERS, "DROP TABLE users;"]).is_empty());
    }
}
