//! The check: a guarded struct against the schema the migrations produce. Every mismatch is
//! returned (never only the first), each with the span it is about, what the migrations say and
//! where, and what to do.

use std::collections::BTreeMap;

use proc_macro2::Span;

use super::model::GuardedStruct;
use super::types::{RustKind, compatible, declared_fits, field_type, is_enum, suggestion, type_text};
use crate::db::Dialect;
use crate::schema::{Column, Table, qualified_name};
use crate::sql::{StaticSchema, object_key};

/// What kind of mismatch, with its stable finding code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MismatchKind {
    /// The table is not in the schema.
    TableMissing,
    /// A field maps to no column.
    ColumnMissing,
    /// `Option<T>` where the column is NOT NULL, or a plain type where it is nullable.
    Nullability,
    /// The Rust type cannot hold the column's SQL type.
    Type,
    /// The attributes are wrong (unknown option, two fields on one column, …).
    Attribute,
    /// `exhaustive`, and a column is not a field.
    NotExhaustive,
    /// `insertable`, and a NOT NULL column without a default is not a field.
    NotInsertable,
}

impl MismatchKind {
    /// The finding code (documented in `docs/findings.md`).
    pub fn code(self) -> &'static str {
        match self {
            MismatchKind::TableMissing => "guard-table-missing",
            MismatchKind::ColumnMissing => "guard-column-missing",
            MismatchKind::Nullability => "guard-nullability",
            MismatchKind::Type => "guard-type",
            MismatchKind::Attribute => "guard-attribute",
            MismatchKind::NotExhaustive => "guard-not-exhaustive",
            MismatchKind::NotInsertable => "guard-not-insertable",
        }
    }
}

/// One way a guarded struct disagrees with the schema.
#[derive(Debug, Clone)]
pub struct Mismatch {
    /// What kind.
    pub kind: MismatchKind,
    /// The field it is about (index into [`GuardedStruct::fields`]), `None` for the struct or an
    /// option of the attribute.
    pub field: Option<usize>,
    /// The token to blame: the field's type, its name or rename, the table literal, an option.
    pub span: Span,
    /// The last token to blame (the type's last token; else the same as `span`).
    pub end: Span,
    /// What is wrong and what the migrations say, with file and line.
    pub message: String,
    /// What to do.
    pub help: String,
}

impl Mismatch {
    /// The compile error the macro emits: message and help in one line.
    pub fn to_syn_error(&self) -> syn::Error {
        let ends: proc_macro2::TokenStream = [self.span, self.end]
            .into_iter()
            .map(|s| proc_macro2::TokenTree::Ident(proc_macro2::Ident::new("span", s)))
            .collect();
        syn::Error::new_spanned(ends, format!("{}; {}", self.message, self.help))
    }
}

/// Where the migrations define `key` (`path:line`), when known.
fn origin_of(schema: &StaticSchema, kind: &str, name: &str) -> Option<String> {
    schema.origin(&object_key(kind, name)).map(|o| format!("{}:{}", o.path.display(), o.line))
}

fn column_origin(schema: &StaticSchema, table: &str, column: &str) -> String {
    origin_of(schema, "column", &format!("{table}.{column}"))
        .or_else(|| origin_of(schema, "table", table))
        .unwrap_or_else(|| "the migrations".to_owned())
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (distance(name, c), c))
        .filter(|(d, c)| *d <= name.len().max(c.len()).div_ceil(3))
        .min()
        .map(|(_, c)| c)
}

/// A note on statements static interpretation skipped, which may explain a missing object.
fn unmodelled_note(schema: &StaticSchema) -> String {
    match schema.unmodelled.first() {
        None => String::new(),
        Some(u) => format!(
            " (note: {} statement(s) of the migrations could not be interpreted statically, the first at {}:{})",
            schema.unmodelled.len(),
            u.path.display(),
            u.line
        ),
    }
}

/// The table key for `g`: its namespace dropped when it is the dialect's default one.
fn table_key(g: &GuardedStruct, dialect: Dialect) -> String {
    let default_ns = match dialect {
        Dialect::Postgres => Some("public"),
        Dialect::Sqlite => Some("main"),
        Dialect::Mysql => None,
    };
    let (ns, name) = match (&g.schema, g.table.split_once('.')) {
        (Some(ns), _) => (Some(ns.as_str()), g.table.as_str()),
        (None, Some((ns, name))) => (Some(ns), name),
        (None, None) => (None, g.table.as_str()),
    };
    qualified_name(ns.filter(|n| Some(*n) != default_ns), name)
}

/// Whether `column` can hold NULL: nullable and not part of the primary key (SQLite lets
/// non-integer key columns hold NULL for historical reasons; no code expects it).
fn holds_null(table: &Table, column: &Column) -> bool {
    column.nullable && !table.primary_key.as_ref().is_some_and(|pk| pk.columns.contains(&column.name))
}

/// Whether the database fills `column` when an insert leaves it out.
fn filled_by_database(dialect: Dialect, table: &Table, column: &Column) -> bool {
    column.default.is_some()
        || column.auto_increment
        || column.identity.is_some()
        || column.generated.is_some()
        || (dialect == Dialect::Sqlite
            && column.data_type == "integer"
            && table.primary_key.as_ref().is_some_and(|pk| pk.columns == [column.name.clone()]))
}

/// Every mismatch between `g` and the table it names in `schema` (interpreted for `dialect`).
pub fn check(g: &GuardedStruct, schema: &StaticSchema, dialect: Dialect) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let key = table_key(g, dialect);
    let Some(table) = schema.schema.tables.get(&key) else {
        let mut help = match closest(&key, schema.schema.tables.keys().map(String::as_str)) {
            Some(c) => format!("did you mean `{c}`?"),
            None if schema.schema.tables.is_empty() => "the migrations create no table".to_owned(),
            None => format!(
                "the migrations create: {}",
                schema.schema.tables.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
            ),
        };
        if schema.schema.views.contains_key(&key) {
            help = format!("`{key}` is a view; #[schema_guard] checks tables, whose columns the migrations declare");
        }
        out.push(Mismatch {
            kind: MismatchKind::TableMissing,
            field: None,
            span: g.table_span,
            end: g.table_span,
            message: format!(
                "table `{key}` does not exist in the schema the migrations produce{}",
                unmodelled_note(schema)
            ),
            help,
        });
        return out;
    };

    let mut mapped: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, f) in g.fields.iter().enumerate() {
        if let Some(&first) = mapped.get(f.column.as_str()) {
            out.push(Mismatch {
                kind: MismatchKind::Attribute,
                field: Some(index),
                span: f.column_span,
                end: f.column_span,
                message: format!(
                    "field `{}` maps to column `{}`, like field `{}`",
                    f.ident, f.column, g.fields[first].ident
                ),
                help: "map each column once; rename one field or give it `#[column(\"...\")]`".to_owned(),
            });
            continue;
        }
        mapped.insert(f.column.as_str(), index);
        let Some(column) = table.column(&f.column) else {
            let hint = match closest(&f.column, table.columns.iter().map(|c| c.name.as_str())) {
                Some(c) => format!("did you mean `{c}`? "),
                None => String::new(),
            };
            let created = origin_of(schema, "table", &key).map(|o| format!(" (created at {o})")).unwrap_or_default();
            out.push(Mismatch {
                kind: MismatchKind::ColumnMissing,
                field: Some(index),
                span: f.column_span,
                end: f.column_span,
                message: format!("`{key}`{created} has no column `{}`{}", f.column, unmodelled_note(schema)),
                help: format!(
                    "{hint}rename the field, map it with `#[column(\"...\")]`, or add a migration that adds the column"
                ),
            });
            continue;
        };
        let ft = field_type(&f.ty);
        let origin = column_origin(schema, &key, &column.name);
        let qualified = format!("{key}.{}", column.name);
        let nullable = holds_null(table, column);
        if nullable && !ft.optional {
            out.push(Mismatch {
                kind: MismatchKind::Nullability,
                field: Some(index),
                span: f.ty_span,
                end: f.ty_end,
                message: format!("`{qualified}` is nullable since {origin}"),
                help: format!("make the field `Option<{}>` or add a migration that sets NOT NULL", type_text(&f.ty)),
            });
        } else if !nullable
            && ft.optional
            && !(g.options.insertable.is_some() && filled_by_database(dialect, table, column))
        {
            out.push(Mismatch {
                kind: MismatchKind::Nullability,
                field: Some(index),
                span: f.ty_span,
                end: f.ty_end,
                message: format!("`{qualified}` is NOT NULL since {origin} but the field is `{}`", type_text(&f.ty)),
                help: format!("make the field `{}` (the column never holds NULL)", ft.inner),
            });
        }
        if let Some((declared, span)) = &f.sql_type {
            if !declared_fits(dialect, declared, &column.data_type) {
                out.push(Mismatch {
                    kind: MismatchKind::Type,
                    field: Some(index),
                    span: *span,
                    end: *span,
                    message: format!(
                        "`{qualified}` is `{}` ({origin}) but the field declares `sql_type = \"{declared}\"`",
                        column.data_type
                    ),
                    help: format!("declare `sql_type = \"{}\"` with a Rust type that encodes it", column.data_type),
                });
            }
            continue;
        }
        let kind = if f.json { RustKind::Json } else { ft.kind };
        if !compatible(dialect, &column.data_type, &kind) {
            let what = if is_enum(&schema.schema, &column.data_type) { "the enum " } else { "" };
            let unknown = matches!(kind, RustKind::Unknown);
            let help = if unknown {
                format!(
                    "`{}` is not a type #[schema_guard] knows: if it encodes `{}`, mark the field `#[column(sql_type = \"{}\")]`; \
                     otherwise use {}",
                    ft.inner,
                    column.data_type,
                    column.data_type,
                    suggestion(dialect, &schema.schema, &column.data_type)
                )
            } else {
                format!("use {}", suggestion(dialect, &schema.schema, &column.data_type))
            };
            out.push(Mismatch {
                kind: MismatchKind::Type,
                field: Some(index),
                span: f.ty_span,
                end: f.ty_end,
                message: format!(
                    "`{qualified}` is {what}`{}` ({origin}) but the field is `{}`",
                    column.data_type, ft.inner
                ),
                help,
            });
        }
    }

    let missing = |pred: &dyn Fn(&Column) -> bool| -> Vec<String> {
        table
            .columns
            .iter()
            .filter(|c| !mapped.contains_key(c.name.as_str()) && pred(c))
            .map(|c| format!("`{}` ({})", c.name, column_origin(schema, &key, &c.name)))
            .collect()
    };
    if let Some(span) = g.options.exhaustive {
        let cols = missing(&|_| true);
        if !cols.is_empty() {
            out.push(Mismatch {
                kind: MismatchKind::NotExhaustive,
                field: None,
                span,
                end: span,
                message: format!(
                    "`{}` is exhaustive but has no field for column(s) of `{key}`: {}",
                    g.name,
                    cols.join(", ")
                ),
                help: "add a field for each, or remove `exhaustive`".to_owned(),
            });
        }
    }
    if let Some(span) = g.options.insertable {
        let cols = missing(&|c| !holds_null(table, c) && !filled_by_database(dialect, table, c));
        if !cols.is_empty() {
            out.push(Mismatch {
                kind: MismatchKind::NotInsertable,
                field: None,
                span,
                end: span,
                message: format!(
                    "`{}` is insertable but lacks NOT NULL column(s) of `{key}` that have no default: {}",
                    g.name,
                    cols.join(", ")
                ),
                help: "an insert without them fails; add a field for each, or give the columns a default".to_owned(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::sql::Interpreter;

    fn schema(dialect: Dialect, sql: &str) -> StaticSchema {
        let mut i = Interpreter::new(dialect);
        i.apply_file(Path::new("migrations/0001_init.sql"), sql);
        i.finish()
    }

    fn guard(args: &str, item: &str) -> GuardedStruct {
        let input: syn::DeriveInput = syn::parse_str(item).unwrap();
        GuardedStruct::from_derive(&input, args.parse().unwrap()).unwrap()
    }

    #[test]
    fn a_matching_struct_passes_and_each_mismatch_is_reported() {
        let s = schema(
            Dialect::Postgres,
            "CREATE TABLE ads (id bigserial PRIMARY KEY, title text NOT NULL, price numeric(10,2),\n  slug text);\n",
        );
        let ok = guard(
            r#"table = "ads", exhaustive"#,
            "struct Ad { id: i64, title: String, price: Option<rust_decimal::Decimal>, slug: Option<String> }",
        );
        assert!(check(&ok, &s, Dialect::Postgres).is_empty());

        let bad = guard(
            r#"table = "ads", insertable"#,
            "struct Ad { id: Option<i32>, price: Option<f64>, slug: String, slg: String }",
        );
        let m = check(&bad, &s, Dialect::Postgres);
        let kinds: Vec<MismatchKind> = m.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            [
                MismatchKind::Type,
                MismatchKind::Type,
                MismatchKind::Nullability,
                MismatchKind::ColumnMissing,
                MismatchKind::NotInsertable
            ]
        );
        assert_eq!(m[2].message, "`ads.slug` is nullable since migrations/0001_init.sql:1");
        assert_eq!(m[2].help, "make the field `Option<String>` or add a migration that sets NOT NULL");
        assert!(m[3].help.starts_with("did you mean `slug`?"), "{}", m[3].help);
        assert!(m[4].message.contains("`title`"), "{}", m[4].message);
        assert!(!m[4].message.contains("`id`"), "{}", m[4].message);
    }

    #[test]
    fn unknown_tables_suggest_the_closest() {
        let s = schema(Dialect::Sqlite, "CREATE TABLE ads (id INTEGER PRIMARY KEY);");
        let m = check(&guard(r#"table = "adz""#, "struct A { id: i64 }"), &s, Dialect::Sqlite);
        assert_eq!(m[0].kind, MismatchKind::TableMissing);
        assert_eq!(m[0].help, "did you mean `ads`?");
        assert!(check(&guard(r#"table = "ads", insertable"#, "struct A { }"), &s, Dialect::Sqlite).is_empty());
    }

    #[test]
    fn enums_and_custom_types_need_an_override() {
        let s = schema(
            Dialect::Postgres,
            "CREATE TYPE ad_status AS ENUM ('draft', 'live');\nCREATE TABLE ads (id int PRIMARY KEY, status ad_status NOT NULL);",
        );
        let m = check(&guard(r#"table = "ads""#, "struct A { id: AdId, status: Status }"), &s, Dialect::Postgres);
        assert_eq!(m.len(), 2);
        assert!(m[0].help.contains("sql_type = \"integer\""), "{}", m[0].help);
        assert!(m[1].message.contains("the enum `ad_status`"), "{}", m[1].message);
        let ok = guard(
            r#"table = "ads""#,
            r#"struct A { #[column(sql_type = "int4")] id: AdId, #[column(sql_type = "ad_status")] status: Status }"#,
        );
        assert!(check(&ok, &s, Dialect::Postgres).is_empty());
        let wrong = guard(r#"table = "ads""#, r#"struct A { id: i32, #[column(sql_type = "text")] status: Status }"#);
        assert_eq!(check(&wrong, &s, Dialect::Postgres)[0].kind, MismatchKind::Type);
    }
}
