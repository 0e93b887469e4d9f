//! A declarative `schema.sql`: `CREATE TABLE` (and any other DDL the static interpreter
//! understands) describing the schema the migrations must produce, interpreted with
//! [`crate::sql::Interpreter`] in the project's dialect.

use std::ops::Range;
use std::path::Path;

use super::{Coverage, Declared, DeclaredColumn, DeclaredError, DeclaredKey, DeclaredTable, DeclaredType, SourceKind};
use crate::db::Dialect;
use crate::report::{Finding, Location, Severity};
use crate::source::SourceFile;
use crate::sql::{Interpreter, object_key};

/// Read and interpret the `schema.sql` at `path`.
pub fn read_schema_sql(path: &Path, dialect: Dialect) -> Result<Declared, DeclaredError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| DeclaredError::Read { path: path.to_path_buf(), source })?;
    Ok(parse_schema_sql(path, &text, dialect))
}

/// The byte range of the first whole-word, case-insensitive occurrence of `word` inside `range`
/// of `text` (a column's name inside its `CREATE TABLE`), or `range` itself.
fn word_in(text: &str, range: &Range<usize>, word: &str) -> Range<usize> {
    let hay = text.get(range.clone()).unwrap_or("").to_ascii_lowercase();
    let needle = word.to_ascii_lowercase();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut from = 0;
    while let Some(i) = hay[from..].find(&needle) {
        let start = from + i;
        let end = start + needle.len();
        let before = start.checked_sub(1).map(|p| hay.as_bytes()[p]);
        let after = hay.as_bytes().get(end).copied();
        if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
            return range.start + start..range.start + end;
        }
        from = end;
    }
    range.clone()
}

/// Interpret a `schema.sql` text; `path` is used for locations. It covers every table of the
/// namespaces it declares tables in (the default namespace when it declares none).
pub fn parse_schema_sql(path: &Path, text: &str, dialect: Dialect) -> Declared {
    let mut interpreter = Interpreter::new(dialect);
    interpreter.apply_file(path, text);
    let ours = interpreter.finish();
    let lines = SourceFile::new(path.to_path_buf(), text.to_owned());
    let mut findings: Vec<Finding> = ours
        .unmodelled
        .iter()
        .map(|u| {
            Finding::new(
                "declared-unmodelled",
                Severity::Warning,
                format!("statement in the declared schema not interpreted: {} (`{}`)", u.reason, u.statement),
            )
            .at(Location::span(path, u.span.clone()))
            .help("its effect is not part of the declared schema; write it in a form the static interpreter reads (docs/static.md)")
        })
        .collect();
    let mut namespaces: Vec<Option<String>> = Vec::new();
    let mut tables = Vec::new();
    for (key, table) in &ours.schema.tables {
        if !namespaces.contains(&table.schema) {
            namespaces.push(table.schema.clone());
        }
        let table_span = ours.origin(&object_key("table", key)).map_or(0..0, |o| o.span.clone());
        let name_span = word_in(text, &table_span, &table.name);
        let columns = table
            .columns
            .iter()
            .map(|c| {
                let origin = ours.origin(&object_key("column", &format!("{key}.{}", c.name)));
                let stmt = origin.map_or(table_span.clone(), |o| o.span.clone());
                // Inside a CREATE TABLE, look after the table's name for the column's.
                let after_name = name_span.end.max(stmt.start)..stmt.end;
                let span = word_in(text, &after_name, &c.name);
                DeclaredColumn {
                    name: c.name.clone(),
                    ty: DeclaredType::Sql(c.data_type.clone()),
                    nullable: c.nullable,
                    line: lines.line_col(span.start).0,
                    span,
                }
            })
            .collect();
        tables.push(DeclaredTable {
            key: key.clone(),
            line: lines.line_col(name_span.start).0,
            span: name_span.clone(),
            primary_key: Some(DeclaredKey {
                columns: table.primary_key.as_ref().map(|p| p.columns.clone()).unwrap_or_default(),
                span: name_span,
            }),
            columns,
        });
    }
    if namespaces.is_empty() {
        namespaces.push(None);
    }
    if tables.is_empty() && findings.is_empty() {
        findings.push(
            Finding::new("declared-parse", Severity::Warning, "the declared schema.sql declares no table")
                .at(Location::file(path))
                .help("write the schema's `CREATE TABLE` statements in it, or remove `declared.schema_sql`"),
        );
    }
    Declared {
        kind: SourceKind::SchemaSql,
        path: path.to_path_buf(),
        tables,
        coverage: Coverage { namespaces, needs_primary_key: false, ..Coverage::default() },
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::declared::compare_declared;

    #[test]
    fn schema_sql_matches_and_mismatches() {
        let mut i = Interpreter::new(Dialect::Postgres);
        i.apply_file(
            Path::new("/p/migrations/1.sql"),
            "CREATE TABLE ads (id BIGSERIAL PRIMARY KEY, title TEXT);\nALTER TABLE ads ALTER COLUMN title SET NOT NULL;\n",
        );
        let ours = i.finish();
        let same = "CREATE TABLE ads (\n  id bigint PRIMARY KEY,\n  title text NOT NULL\n);\n";
        let d = parse_schema_sql(Path::new("/p/schema.sql"), same, Dialect::Postgres);
        assert!(compare_declared(&d, &ours, Dialect::Postgres, Path::new("/p")).is_empty());

        let other = "CREATE TABLE ads (\n  id integer PRIMARY KEY,\n  title text\n);\n";
        let d = parse_schema_sql(Path::new("/p/schema.sql"), other, Dialect::Postgres);
        let found = compare_declared(&d, &ours, Dialect::Postgres, Path::new("/p"));
        let codes: Vec<&str> = found.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["declared-type", "declared-nullability"]);
        let Some(Location::File { span: Some(span), .. }) = &found[1].location else { panic!("no span") };
        assert_eq!(&other[span.clone()], "title");
        assert!(found[1].message.contains("migrations/1.sql:2"), "{}", found[1].message);
    }
}
