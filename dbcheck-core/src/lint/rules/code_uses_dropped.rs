//! DL502 `code-uses-dropped`: a migration drops or renames a table or column that Rust code still
//! uses — a `#[schema_guard]` struct's field or a diesel `schema.rs` column — and the migrations
//! never bring it back. The contract step is shipping before the code that stops using it.

use super::{Rule, RuleMeta};
use crate::declared::CodeRef;
use crate::lint::ast::{Action, Name, Stmt};
use crate::lint::context::same;
use crate::lint::{Cx, Hit};
use crate::report::Severity;

/// See the module docs.
#[derive(Debug)]
pub struct CodeUsesDropped;

static META: RuleMeta = RuleMeta {
    id: "code-uses-dropped",
    code: "DL502",
    summary: "a dropped or renamed table or column is still used by a guarded struct or diesel schema.rs",
    severity: Severity::Error,
    dialects: &[],
    default_on: true,
    lock_sensitive: false,
    squawk: &[],
    strong_migrations: "",
    atlas: "",
};

/// `path:line (item)` for each use, for messages.
fn uses(refs: &[&CodeRef]) -> String {
    let shown: Vec<String> =
        refs.iter().take(5).map(|r| format!("{} ({}:{})", r.item, r.path.display(), r.line)).collect();
    let more = refs.len().saturating_sub(5);
    if more > 0 { format!("{} and {more} more", shown.join(", ")) } else { shown.join(", ") }
}

impl CodeUsesDropped {
    /// Uses of `table.column` (or the whole table) that the final schema does not satisfy.
    fn dangling<'a>(cx: &Cx<'a>, table: &Name, column: Option<&str>) -> Vec<&'a CodeRef> {
        let key = table.key();
        let final_table = cx.final_schema.tables.iter().find(|(k, _)| same(cx.dialect, k, &key)).map(|(_, t)| t);
        let refs = cx.code_uses(&key, column);
        match (column, final_table) {
            (_, None) => refs,
            (Some(c), Some(t)) if !t.columns.iter().any(|col| same(cx.dialect, &col.name, c)) => {
                refs.into_iter().filter(|r| r.column.as_deref().is_some_and(|rc| same(cx.dialect, rc, c))).collect()
            }
            _ => Vec::new(),
        }
    }
}

impl Rule for CodeUsesDropped {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Cx<'_>, out: &mut Vec<Hit>) {
        if cx.options.code_refs.is_empty() || cx.down {
            return;
        }
        let help = "deploy the code that stops using it first (or in the same release, behind expand/contract), \
                    then drop it in a later migration; a guarded struct or schema.rs that still names it will fail \
                    at runtime on every query that selects it";
        match cx.stmt {
            Stmt::AlterTable { table, actions } => {
                for action in actions {
                    let (column, verb, span) = match action {
                        Action::DropColumn { column, span } => (column, "dropped", span),
                        Action::RenameColumn { from, span, .. } => (from, "renamed", span),
                        Action::RenameTable { span, .. } => {
                            let refs = Self::dangling(cx, table, None);
                            if !refs.is_empty() {
                                out.push(Hit::new(
                                    span.clone(),
                                    format!("table {} is renamed but code still uses it: {}", table.key(), uses(&refs)),
                                    help,
                                ));
                            }
                            continue;
                        }
                        _ => continue,
                    };
                    let refs = Self::dangling(cx, table, Some(column));
                    if !refs.is_empty() {
                        out.push(Hit::new(
                            span.clone(),
                            format!(
                                "column {}.{column} is {verb} but code still uses it: {}",
                                table.key(),
                                uses(&refs)
                            ),
                            help,
                        ));
                    }
                }
            }
            Stmt::DropTable { names, .. } => {
                for name in names {
                    let refs = Self::dangling(cx, name, None);
                    if !refs.is_empty() {
                        out.push(Hit::new(
                            name.span.clone(),
                            format!("table {} is dropped but code still uses it: {}", name.key(), uses(&refs)),
                            help,
                        ));
                    }
                }
            }
            Stmt::RenameTable { from, .. } => {
                let refs = Self::dangling(cx, from, None);
                if !refs.is_empty() {
                    out.push(Hit::new(
                        from.span.clone(),
                        format!("table {} is renamed but code still uses it: {}", from.key(), uses(&refs)),
                        help,
                    ));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::db::Dialect;
    use crate::declared::CodeRef;
    use crate::lint::LintOptions;
    use crate::lint::testing::lint_with;

    fn field(table: &str, column: &str) -> CodeRef {
        CodeRef {
            table: table.into(),
            column: Some(column.into()),
            path: PathBuf::from("src/models.rs"),
            line: 12,
            span: 100..120,
            item: format!("struct Ad, field {column}"),
        }
    }

    fn run(sqls: &[&str], refs: Vec<CodeRef>) -> Vec<String> {
        let options = LintOptions { code_refs: refs, ..LintOptions::default() };
        lint_with(Dialect::Postgres, sqls, &options)
            .into_iter()
            .filter(|f| f.rule == "code-uses-dropped")
            .map(|f| f.finding.message)
            .collect()
    }

    const ADS: &str = "CREATE TABLE ads (id bigint PRIMARY KEY, title text, slug text);";

    #[test]
    fn names_the_field_that_still_uses_a_dropped_or_renamed_column() {
        let found = run(&[ADS, "ALTER TABLE ads DROP COLUMN slug;"], vec![field("ads", "slug")]);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("struct Ad, field slug (src/models.rs:12)"), "{}", found[0]);
        let found = run(&[ADS, "ALTER TABLE ads RENAME COLUMN title TO headline;"], vec![field("ads", "title")]);
        assert_eq!(found.len(), 1, "{found:?}");
        let found = run(&[ADS, "DROP TABLE ads;"], vec![field("ads", "title")]);
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn quiet_when_the_code_does_not_use_it_or_a_later_migration_brings_it_back() {
        assert!(run(&[ADS, "ALTER TABLE ads DROP COLUMN slug;"], vec![field("ads", "title")]).is_empty());
        assert!(
            run(
                &[ADS, "ALTER TABLE ads DROP COLUMN slug;", "ALTER TABLE ads ADD COLUMN slug text;"],
                vec![field("ads", "slug")]
            )
            .is_empty()
        );
        // Without code references the rule has nothing to say.
        assert!(run(&[ADS, "ALTER TABLE ads DROP COLUMN slug;"], Vec::new()).is_empty());
    }
}
