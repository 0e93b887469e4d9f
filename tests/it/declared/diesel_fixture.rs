//! The diesel `schema.rs` check on files written by `diesel print-schema` for the reference
//! migrations and for a fixture of every mapped column type: no finding on the files as
//! generated; every single-column mutation (drop a column, flip `Nullable`, change a type,
//! rename a column, drop a table, change the primary key) reported, at the mutated item.

use dbcheck_core::Finding;
use dbcheck_core::db::Dialect;
use dbcheck_core::declared::compare_declared;
use dbcheck_core::declared::diesel::parse_schema_rs;
use dbcheck_core::migrations::discover_migrations;
use dbcheck_core::report::Location;
use dbcheck_core::sql::{Interpreter, StaticSchema, interpret_migrations};

use super::workspace;

fn reference_schema() -> StaticSchema {
    let discovery = discover_migrations(&workspace().join("migrations"), None).unwrap();
    interpret_migrations(&discovery, Dialect::Postgres)
}

fn types_schema() -> StaticSchema {
    let file = workspace().join("tests/fixtures/diesel/types/up.sql");
    let mut i = Interpreter::new(Dialect::Postgres);
    i.apply_file(&file, &std::fs::read_to_string(&file).unwrap());
    i.finish()
}

fn check(ours: &StaticSchema, text: &str) -> Vec<Finding> {
    let path = workspace().join("src/schema.rs");
    let d = parse_schema_rs(&path, text, Dialect::Postgres);
    compare_declared(&d, ours, Dialect::Postgres, &workspace())
}

fn fixture(rel: &str) -> String {
    std::fs::read_to_string(workspace().join(rel)).unwrap()
}

/// One `name -> Type,` line of a `table!` block, as found by plain text scanning (independent
/// of the parser under test).
#[derive(Debug, Clone)]
struct ColumnLine {
    table: String,
    /// Byte range of the whole line, newline included.
    line: std::ops::Range<usize>,
    /// The column's SQL name (`#[sql_name]` on the line above wins).
    name: String,
    /// The Rust identifier as written.
    ident: String,
    /// The type as written, without the trailing comma.
    ty: String,
    /// Whether the line has a `#[max_length]` (or other attribute) above it.
    attrs: Vec<std::ops::Range<usize>>,
}

/// A table: its name, the byte range of its whole `table!` block and of its header line.
type TableBlock = (String, std::ops::Range<usize>, std::ops::Range<usize>);

/// Each table's block and header line (`    ads (id) {`), and the column lines.
fn scan(text: &str) -> (Vec<TableBlock>, Vec<ColumnLine>) {
    let mut tables = Vec::new();
    let mut columns = Vec::new();
    let mut offset = 0;
    let mut current: Option<String> = None;
    let mut block_start = 0;
    let mut header = 0..0;
    let mut pending_attrs: Vec<std::ops::Range<usize>> = Vec::new();
    for line in text.split_inclusive('\n') {
        let range = offset..offset + line.len();
        offset += line.len();
        let t = line.trim();
        if t.starts_with("diesel::table!") {
            block_start = range.start;
            continue;
        }
        if t.ends_with(") {") || (t.ends_with('{') && current.is_none() && !t.starts_with("pub mod") && block_start > 0)
        {
            current = Some(t.split([' ', '(']).next().unwrap().to_owned());
            header = range;
            continue;
        }
        if let Some(table) = &current {
            if t.starts_with("#[") {
                pending_attrs.push(range);
            } else if let Some((ident, ty)) = t.split_once(" -> ") {
                let ty = ty.trim_end_matches(',').to_owned();
                let sql_name = pending_attrs
                    .iter()
                    .find_map(|a| {
                        text[a.clone()]
                            .trim()
                            .strip_prefix("#[sql_name = \"")
                            .map(|s| s.trim_end_matches("\"]").to_owned())
                    })
                    .unwrap_or_else(|| ident.to_owned());
                columns.push(ColumnLine {
                    table: table.clone(),
                    line: range,
                    name: sql_name,
                    ident: ident.to_owned(),
                    ty,
                    attrs: std::mem::take(&mut pending_attrs),
                });
            } else if t == "}" {
                current = None;
                pending_attrs.clear();
            }
        } else if t == "}" && block_start > 0 {
            let table = columns.last().map(|c| c.table.clone()).unwrap_or_default();
            if !tables.iter().any(|(n, _, _): &TableBlock| *n == table) {
                tables.push((table, block_start..range.end, header.clone()));
            }
            block_start = 0;
        }
    }
    (tables, columns)
}

fn replace(text: &str, range: std::ops::Range<usize>, with: &str) -> String {
    format!("{}{with}{}", &text[..range.start], &text[range.end..])
}

fn span_text<'a>(text: &'a str, f: &Finding) -> &'a str {
    match &f.location {
        Some(Location::File { span: Some(s), .. }) => &text[s.clone()],
        _ => "",
    }
}

/// A type of another diesel family than `ty` (a fixed table: not derived from the code under test).
fn other_type(ty: &str) -> &'static str {
    let base = ty.trim_start_matches("Nullable<").trim_end_matches('>');
    match base {
        "Int2" | "Int8" => "Int4",
        "Int4" => "Int8",
        "Text" | "Varchar" | "Bpchar" => "Int4",
        "Bool" => "Text",
        "Timestamptz" => "Timestamp",
        "Timestamp" => "Timestamptz",
        "Float4" | "Numeric" => "Float8",
        "Float8" => "Numeric",
        _ => "Bool",
    }
}

fn codes(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code).collect()
}

fn mutations_are_detected(rel: &str, ours: &StaticSchema) -> usize {
    let text = fixture(rel);
    let (tables, columns) = scan(&text);
    assert!(
        tables.len() >= 2 && columns.len() >= 8,
        "scanner found {} tables, {} columns",
        tables.len(),
        columns.len()
    );
    let mut count = 0;
    let mut report = Vec::new();
    let mut expect = |label: String, mutated: String, code: &str, at: Option<&str>| {
        count += 1;
        let found = check(ours, &mutated);
        let hit = found.iter().find(|f| f.code == code && at.is_none_or(|a| span_text(&mutated, f).contains(a)));
        if hit.is_none() {
            report.push(format!("{label}: expected {code} at {at:?}, got {:?}", codes(&found)));
        }
    };
    for c in &columns {
        let what = format!("{}.{}", c.table, c.name);
        // Drop the column (and its attributes).
        let start = c.attrs.first().map_or(c.line.start, |a| a.start);
        expect(format!("drop {what}"), replace(&text, start..c.line.end, ""), "declared-extra-column", None);
        // Flip Nullable.
        let flipped = match c.ty.strip_prefix("Nullable<").and_then(|t| t.strip_suffix('>')) {
            Some(inner) => inner.to_owned(),
            None => format!("Nullable<{}>", c.ty),
        };
        let line = &text[c.line.clone()];
        let flipped_line = line.replacen(&format!("-> {}", c.ty), &format!("-> {flipped}"), 1);
        expect(
            format!("flip nullability of {what}"),
            replace(&text, c.line.clone(), &flipped_line),
            "declared-nullability",
            Some(&c.ident),
        );
        // Change the type (keeping its nullability).
        let other = other_type(&c.ty);
        let new_ty = if c.ty.starts_with("Nullable<") { format!("Nullable<{other}>") } else { other.to_owned() };
        let retyped = line.replacen(&format!("-> {}", c.ty), &format!("-> {new_ty}"), 1);
        let mut mutated = replace(&text, c.line.clone(), &retyped);
        // A length attribute belongs to the old type.
        for a in c.attrs.iter().rev() {
            if text[a.clone()].contains("max_length") {
                mutated = replace(&mutated, a.clone(), "");
            }
        }
        expect(format!("change type of {what} to {new_ty}"), mutated, "declared-type", Some(&c.ident));
        // Rename the column.
        let renamed = line.replacen(&format!("{} ->", c.ident), &format!("{}_renamed ->", c.ident), 1);
        let sql_renamed = c.attrs.iter().fold(replace(&text, c.line.clone(), &renamed), |t, a| {
            if text[a.clone()].contains("sql_name") {
                let attr = text[a.clone()].replacen("\"]", "_renamed\"]", 1);
                replace(&t, a.clone(), &attr)
            } else {
                t
            }
        });
        expect(
            format!("rename {what}"),
            sql_renamed.clone(),
            "declared-column-missing",
            Some(&format!("{}_renamed", c.ident)),
        );
        expect(format!("rename {what} (old name)"), sql_renamed, "declared-extra-column", None);
    }
    for (table, block, header) in &tables {
        // Drop the table (its whole `table!` block).
        expect(format!("drop table {table}"), replace(&text, block.clone(), ""), "declared-extra-table", None);
        // Change the primary key to another column of the table.
        let cols: Vec<&ColumnLine> = columns.iter().filter(|c| &c.table == table).collect();
        let head = &text[header.clone()];
        let open = head.find('(').unwrap();
        let close = head.find(')').unwrap();
        let key = &head[open + 1..close];
        let other = cols.iter().find(|c| !key.split(", ").any(|k| k == c.ident)).unwrap();
        let new_head = format!("{}{}{}", &head[..=open], other.ident, &head[close..]);
        expect(
            format!("primary key of {table}"),
            replace(&text, header.clone(), &new_head),
            "declared-primary-key",
            None,
        );
    }
    assert!(report.is_empty(), "{} of {count} mutations not reported:\n{}", report.len(), report.join("\n"));
    count
}

#[test]
fn reference_schema_rs_has_no_findings() {
    let found = check(&reference_schema(), &fixture("tests/fixtures/diesel/schema.rs"));
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn types_schema_rs_has_no_findings() {
    let found = check(&types_schema(), &fixture("tests/fixtures/diesel/types/schema.rs"));
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn every_mutation_of_the_reference_schema_rs_is_reported() {
    let n = mutations_are_detected("tests/fixtures/diesel/schema.rs", &reference_schema());
    // 4 tables × 2 + 19 columns × 5.
    assert_eq!(n, 4 * 2 + 19 * 5);
}

#[test]
fn every_mutation_of_the_types_schema_rs_is_reported() {
    let n = mutations_are_detected("tests/fixtures/diesel/types/schema.rs", &types_schema());
    assert!(n > 100, "{n}");
}

#[test]
fn findings_name_both_locations() {
    let text = fixture("tests/fixtures/diesel/schema.rs").replace("slug -> Text", "slug -> Nullable<Text>");
    let found = check(&reference_schema(), &text);
    assert_eq!(codes(&found), ["declared-nullability"]);
    let f = &found[0];
    assert_eq!(span_text(&text, f), "slug -> Nullable<Text>");
    // The migration that made it NOT NULL.
    assert!(f.message.contains("migrations/20241213090000_add_data_integrity_constraints.sql:"), "{}", f.message);
    assert!(f.message.contains("src/schema.rs"), "{}", f.message);
}
