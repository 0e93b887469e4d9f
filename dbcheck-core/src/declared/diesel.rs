//! diesel `schema.rs`: the `diesel::table!` (or `table!`) invocations parsed with `syn` — the
//! macro's token stream read here, not by diesel — with `#[sql_name]`, `#[max_length]`,
//! `Nullable<…>`, `Array<…>` and custom types (the `sql_types` module's
//! `#[diesel(postgres_type(name = …))]` structs); `joinable!` and
//! `allow_tables_to_appear_in_same_query!` carry no schema and are ignored. Also the mapping
//! between diesel's SQL types and dbcheck's normalized column types, per dialect.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, Token};

use super::config::DieselSource;
use super::{
    CodeRef, Declared, DeclaredColumn, DeclaredError, DeclaredKey, DeclaredTable, DeclaredType, SourceKind, table_key,
};
use crate::db::Dialect;
use crate::report::{Finding, Location, Severity};
use crate::schema::Column;

/// A column's diesel SQL type as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DieselType {
    /// The type as written (`Nullable<Int4>`), for messages.
    pub written: String,
    /// What it means.
    pub kind: DieselKind,
    /// `#[max_length = N]`.
    pub max_length: Option<u64>,
}

impl fmt::Display for DieselType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

/// A diesel SQL type with aliases resolved (`Int4` is `Integer`, `Varchar` is `Text`, `Bytea` is
/// `Binary`), the way diesel itself treats them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DieselKind {
    /// One of diesel's own types, by its struct name.
    Builtin(&'static str),
    /// `Array<T>` (element nullability is not compared: PostgreSQL arrays always admit NULLs).
    Array(Box<DieselKind>),
    /// `Range<T>` (`Int4range`, …).
    Range(Box<DieselKind>),
    /// `Multirange<T>`.
    Multirange(Box<DieselKind>),
    /// MySQL `Unsigned<T>`.
    Unsigned(Box<DieselKind>),
    /// A custom SQL type: `sql_name` (and `schema`) from its `#[diesel(postgres_type(…))]`,
    /// `None` when its definition is not in the file (then its type is not compared).
    Custom {
        /// The Rust path as written.
        path: String,
        /// The database type's name.
        sql_name: Option<String>,
        /// The database type's namespace.
        schema: Option<String>,
    },
}

/// The canonical diesel struct behind a type name or alias.
fn builtin(name: &str) -> Option<&'static str> {
    Some(match name {
        "Bool" => "Bool",
        "TinyInt" | "Tinyint" => "TinyInt",
        "SmallInt" | "Int2" | "Smallint" | "SmallSerial" => "SmallInt",
        "Integer" | "Int4" | "Serial" => "Integer",
        "BigInt" | "Int8" | "Bigint" | "BigSerial" => "BigInt",
        "Float" | "Float4" => "Float",
        "Double" | "Float8" => "Double",
        "Numeric" | "Decimal" => "Numeric",
        "Text" | "VarChar" | "Varchar" | "Char" | "Tinytext" | "Mediumtext" | "Longtext" | "Bpchar" => "Text",
        "Binary" | "Tinyblob" | "Blob" | "Mediumblob" | "Longblob" | "Varbinary" | "Bit" | "Bytea" => "Binary",
        "Date" => "Date",
        "Interval" => "Interval",
        "Time" => "Time",
        "Timestamp" => "Timestamp",
        "Timestamptz" => "Timestamptz",
        "TimestamptzSqlite" => "TimestamptzSqlite",
        "Datetime" => "Datetime",
        "Json" => "Json",
        "Jsonb" => "Jsonb",
        "Uuid" => "Uuid",
        "Oid" => "Oid",
        "Money" => "Money",
        "MacAddr" | "Macaddr" => "MacAddr",
        "MacAddr8" | "Macaddr8" => "MacAddr8",
        "Inet" => "Inet",
        "Cidr" => "Cidr",
        "CChar" => "CChar",
        "Citext" => "Citext",
        "PgLsn" => "PgLsn",
        _ => return None,
    })
}

/// diesel's range aliases (`Int4range` = `Range<Int4>`, …) and multirange ones.
fn range_alias(name: &str) -> Option<DieselKind> {
    let (inner, multi) = match name {
        "Int4range" => ("Integer", false),
        "Int8range" => ("BigInt", false),
        "Numrange" => ("Numeric", false),
        "Daterange" => ("Date", false),
        "Tsrange" => ("Timestamp", false),
        "Tstzrange" => ("Timestamptz", false),
        "Int4multirange" => ("Integer", true),
        "Int8multirange" => ("BigInt", true),
        "Nummultirange" => ("Numeric", true),
        "Datemultirange" => ("Date", true),
        "Tsmultirange" => ("Timestamp", true),
        "Tstzmultirange" => ("Timestamptz", true),
        _ => return None,
    };
    let inner = Box::new(DieselKind::Builtin(inner));
    Some(if multi { DieselKind::Multirange(inner) } else { DieselKind::Range(inner) })
}

/// How diesel's `print-schema` spells a builtin for `dialect` (for messages).
fn spelling(dialect: Dialect, name: &str) -> &str {
    match (dialect, name) {
        (Dialect::Postgres, "SmallInt") => "Int2",
        (Dialect::Postgres, "Integer") => "Int4",
        (Dialect::Postgres, "BigInt") => "Int8",
        (Dialect::Postgres, "Float") => "Float4",
        (Dialect::Postgres, "Double") => "Float8",
        (Dialect::Postgres, "Binary") => "Bytea",
        _ => name,
    }
}

impl DieselKind {
    /// The type as `print-schema` would write it for `dialect`.
    pub fn spelled(&self, dialect: Dialect) -> String {
        match self {
            DieselKind::Builtin(n) => spelling(dialect, n).to_owned(),
            DieselKind::Array(t) => format!("Array<Nullable<{}>>", t.spelled(dialect)),
            DieselKind::Range(t) => format!("Range<{}>", t.spelled(dialect)),
            DieselKind::Multirange(t) => format!("Multirange<{}>", t.spelled(dialect)),
            DieselKind::Unsigned(t) => format!("Unsigned<{}>", t.spelled(dialect)),
            DieselKind::Custom { path, sql_name, .. } => match sql_name {
                Some(n) => format!("a custom type for `{n}`"),
                None => path.clone(),
            },
        }
    }

    /// Whether the two denote the same database type. A custom type whose definition is unknown
    /// matches anything (it is reported as `declared-unknown-type` instead).
    fn matches(&self, expected: &DieselKind) -> bool {
        match (self, expected) {
            (DieselKind::Custom { sql_name: None, .. }, _) => true,
            (DieselKind::Builtin(a), DieselKind::Builtin(b)) => a == b,
            (DieselKind::Array(a), DieselKind::Array(b))
            | (DieselKind::Range(a), DieselKind::Range(b))
            | (DieselKind::Multirange(a), DieselKind::Multirange(b))
            | (DieselKind::Unsigned(a), DieselKind::Unsigned(b)) => a.matches(b),
            (
                DieselKind::Custom { sql_name: Some(a), schema: sa, .. },
                DieselKind::Custom { sql_name: Some(b), schema: sb, .. },
            ) => {
                let ns = |s: &Option<String>| s.as_deref().filter(|s| *s != "public").map(str::to_ascii_lowercase);
                a.eq_ignore_ascii_case(b) && ns(sa) == ns(sb)
            }
            _ => false,
        }
    }
}

/// The type diesel reads a column of normalized type `ty` as, for `dialect`; `None` when diesel
/// has no mapping for it (`print-schema` refuses it), so nothing is compared.
pub fn expected_kind(dialect: Dialect, ty: &str) -> Option<DieselKind> {
    match dialect {
        Dialect::Postgres => Some(postgres_kind(ty)),
        Dialect::Sqlite => sqlite_kind(ty),
        Dialect::Mysql => mysql_kind(ty),
    }
}

fn base_name(ty: &str) -> &str {
    ty.split('(').next().unwrap_or(ty).trim()
}

fn postgres_kind(ty: &str) -> DieselKind {
    if let Some(element) = ty.strip_suffix("[]") {
        return DieselKind::Array(Box::new(postgres_kind(element.trim_end())));
    }
    let base = base_name(ty);
    let b = |n| DieselKind::Builtin(n);
    match base {
        "smallint" => b("SmallInt"),
        "integer" => b("Integer"),
        "bigint" => b("BigInt"),
        "real" => b("Float"),
        "double precision" => b("Double"),
        "numeric" => b("Numeric"),
        "text" | "varchar" | "char" => b("Text"),
        "\"char\"" => b("CChar"),
        "boolean" => b("Bool"),
        "bytea" => b("Binary"),
        "date" => b("Date"),
        "time" => b("Time"),
        "timestamp" => b("Timestamp"),
        "timestamptz" => b("Timestamptz"),
        "uuid" => b("Uuid"),
        "json" => b("Json"),
        "jsonb" => b("Jsonb"),
        "inet" => b("Inet"),
        "cidr" => b("Cidr"),
        "macaddr" => b("MacAddr"),
        "macaddr8" => b("MacAddr8"),
        "money" => b("Money"),
        "oid" => b("Oid"),
        "citext" => b("Citext"),
        "pg_lsn" => b("PgLsn"),
        _ if base.starts_with("interval") => b("Interval"),
        other => {
            let mut chars = other.chars();
            let alias: String = chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars).collect();
            if let Some(range) = range_alias(&alias) {
                return range;
            }
            let unquoted = other.replace('"', "");
            let (schema, name) = match unquoted.split_once('.') {
                Some((s, n)) => (Some(s.to_owned()), n.to_owned()),
                None => (None, unquoted),
            };
            DieselKind::Custom { path: other.to_owned(), sql_name: Some(name), schema }
        }
    }
}

/// diesel's SQLite inference (diesel_cli `determine_column_type`), on the declared type.
fn sqlite_kind(ty: &str) -> Option<DieselKind> {
    let t = ty.to_ascii_lowercase();
    let t = if t == "generated always" { String::new() } else { t };
    let has = |s: &str| t.contains(s);
    let name = if t == "boolean" || t == "bool" || (has("tiny") && has("int")) {
        "Bool"
    } else if t == "int2" || (has("small") && has("int")) {
        "SmallInt"
    } else if t == "int8" || (has("big") && has("int")) {
        "BigInt"
    } else if has("int") {
        "Integer"
    } else if has("char") || has("clob") || has("text") {
        "Text"
    } else if has("blob") || has("binary") || t.is_empty() {
        "Binary"
    } else if has("float") || has("real") {
        "Float"
    } else if has("double") || has("num") || has("dec") {
        "Double"
    } else if t == "datetime" || t == "timestamp" {
        "Timestamp"
    } else if t == "date" {
        "Date"
    } else if t == "time" {
        "Time"
    } else {
        return None;
    };
    Some(DieselKind::Builtin(name))
}

fn mysql_kind(ty: &str) -> Option<DieselKind> {
    if let Some(inner) = ty.strip_suffix(" unsigned") {
        return mysql_kind(inner).map(|k| DieselKind::Unsigned(Box::new(k)));
    }
    let base = base_name(ty);
    let name = match base {
        "boolean" => "Bool",
        "tinyint" => "TinyInt",
        "smallint" => "SmallInt",
        "integer" => "Integer",
        "bigint" => "BigInt",
        "real" => "Float",
        "double precision" => "Double",
        "numeric" => "Numeric",
        "varchar" | "char" | "text" | "tinytext" | "mediumtext" | "longtext" => "Text",
        "blob" | "tinyblob" | "mediumblob" | "longblob" | "binary" | "varbinary" | "bit" => "Binary",
        "date" => "Date",
        "time" => "Time",
        "datetime" => "Datetime",
        "timestamp" => "Timestamp",
        "json" => "Json",
        "enum" | "set" => {
            return Some(DieselKind::Custom { path: base.to_owned(), sql_name: Some(base.to_owned()), schema: None });
        }
        _ => return None,
    };
    Some(DieselKind::Builtin(name))
}

/// Why a declared diesel type does not fit `column`: the type `print-schema` would write, or a
/// length mismatch. `rowid` says the column is SQLite's integer primary key (an `i64` rowid, so
/// `BigInt` fits too).
pub fn type_mismatch(dialect: Dialect, declared: &DieselType, column: &Column, rowid: bool) -> Option<String> {
    let expected = expected_kind(dialect, &column.data_type)?;
    let fits = declared.kind.matches(&expected)
        || (rowid && declared.kind == DieselKind::Builtin("BigInt"))
        || (dialect == Dialect::Sqlite
            && expected == DieselKind::Builtin("Timestamp")
            && matches!(declared.kind, DieselKind::Builtin("TimestamptzSqlite" | "Timestamptz")))
        || (dialect == Dialect::Mysql
            && matches!(expected, DieselKind::Custom { .. })
            && matches!(declared.kind, DieselKind::Custom { .. }));
    if !fits {
        return Some(format!("`{}`", expected.spelled(dialect)));
    }
    let length = column
        .data_type
        .split_once('(')
        .filter(|_| matches!(expected, DieselKind::Builtin("Text")))
        .and_then(|(_, rest)| rest.trim_end_matches(')').parse::<u64>().ok());
    match (declared.max_length, length) {
        (Some(d), Some(l)) if d != l => Some(format!("`#[max_length = {l}]`")),
        (Some(_), None) => Some("no `#[max_length]`".to_owned()),
        _ => None,
    }
}

/// A `diesel::table!` invocation as written.
struct TableMacro {
    uses: Vec<syn::ItemUse>,
    attrs: Vec<Attribute>,
    schema: Option<Ident>,
    name: Ident,
    key: Option<(Span, Punctuated<Ident, Token![,]>)>,
    columns: Vec<ColumnDef>,
}

struct ColumnDef {
    attrs: Vec<Attribute>,
    name: Ident,
    ty: syn::TypePath,
}

impl Parse for TableMacro {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut uses = Vec::new();
        while input.peek(Token![use]) {
            uses.push(input.parse()?);
        }
        let attrs = input.call(Attribute::parse_outer)?;
        let first = input.call(Ident::parse_any)?;
        let (schema, name) = if input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            (Some(first), input.call(Ident::parse_any)?)
        } else {
            (None, first)
        };
        let key = if input.peek(syn::token::Paren) {
            let content;
            let paren = syn::parenthesized!(content in input);
            Some((paren.span.join(), content.parse_terminated(Ident::parse_any, Token![,])?))
        } else {
            None
        };
        let body;
        syn::braced!(body in input);
        let mut columns = Vec::new();
        while !body.is_empty() {
            let attrs = body.call(Attribute::parse_outer)?;
            let name = body.call(Ident::parse_any)?;
            body.parse::<Token![->]>()?;
            let ty: syn::TypePath = body.parse()?;
            columns.push(ColumnDef { attrs, name, ty });
            if body.is_empty() {
                break;
            }
            body.parse::<Token![,]>()?;
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the table's column list"));
        }
        Ok(TableMacro { uses, attrs, schema, name, key, columns })
    }
}

/// A `#[name = "…"]` / `#[name = 12]` attribute's literal.
fn attr_lit(attrs: &[Attribute], name: &str) -> syn::Result<Option<syn::Lit>> {
    for a in attrs {
        if a.path().is_ident(name) {
            let nv = a.meta.require_name_value()?;
            if let syn::Expr::Lit(l) = &nv.value {
                return Ok(Some(l.lit.clone()));
            }
            return Err(syn::Error::new(nv.value.span(), format!("`#[{name} = …]` needs a literal")));
        }
    }
    Ok(None)
}

fn sql_name(attrs: &[Attribute], ident: &Ident) -> syn::Result<String> {
    match attr_lit(attrs, "sql_name")? {
        Some(syn::Lit::Str(s)) => Ok(s.value().trim_start_matches("r#").to_owned()),
        Some(other) => Err(syn::Error::new(other.span(), "`#[sql_name]` needs a string")),
        None => Ok(ident.unraw().to_string()),
    }
}

/// A custom SQL type defined in the file: `#[diesel(postgres_type(name = "mood", schema = "s"))]`.
#[derive(Debug, Clone)]
struct CustomType {
    sql_name: String,
    schema: Option<String>,
}

fn custom_type(attrs: &[Attribute]) -> Option<CustomType> {
    let mut found = None;
    for a in attrs.iter().filter(|a| a.path().is_ident("diesel")) {
        let _ = a.parse_nested_meta(|outer| {
            if ["postgres_type", "sqlite_type", "mysql_type"].iter().any(|k| outer.path.is_ident(k)) {
                let mut name = None;
                let mut schema = None;
                outer.parse_nested_meta(|inner| {
                    let value: syn::LitStr = inner.value()?.parse()?;
                    if inner.path.is_ident("name") {
                        name = Some(value.value());
                    } else if inner.path.is_ident("schema") {
                        schema = Some(value.value());
                    }
                    Ok(())
                })?;
                if let Some(n) = name {
                    found = Some(CustomType { sql_name: n, schema });
                }
            } else if !outer.input.is_empty() && !outer.input.peek(Token![,]) {
                // `sql_type = …`, `oid(…)`: skip the value.
                let _ = outer.value().and_then(|v| v.parse::<syn::Expr>());
            }
            Ok(())
        });
    }
    found
}

/// Every custom type defined in `items` (recursively through inline modules), by struct name.
fn collect_custom_types(items: &[syn::Item], out: &mut BTreeMap<String, CustomType>) {
    for item in items {
        match item {
            syn::Item::Struct(s) => {
                if let Some(t) = custom_type(&s.attrs) {
                    out.insert(s.ident.to_string(), t);
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    collect_custom_types(inner, out);
                }
            }
            _ => {}
        }
    }
}

fn collect_tables<'a>(items: &'a [syn::Item], out: &mut Vec<&'a syn::ItemMacro>) {
    for item in items {
        match item {
            syn::Item::Macro(m) if m.mac.path.segments.last().is_some_and(|s| s.ident == "table") => out.push(m),
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    collect_tables(inner, out);
                }
            }
            _ => {}
        }
    }
}

/// Resolves a column's type path.
struct Resolver<'a> {
    custom: &'a BTreeMap<String, CustomType>,
    /// Names imported by the table's own `use` items from outside diesel.
    imported: Vec<String>,
}

impl Resolver<'_> {
    fn kind(&self, ty: &syn::TypePath, nullable: &mut bool, top: bool) -> DieselKind {
        let written = tokens_text(ty);
        let Some(last) = ty.path.segments.last() else {
            return DieselKind::Custom { path: written, sql_name: None, schema: None };
        };
        let name = last.ident.to_string();
        let arg = match &last.arguments {
            syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
                syn::GenericArgument::Type(syn::Type::Path(p)) => Some(p),
                _ => None,
            }),
            _ => None,
        };
        let qualified_outside_diesel =
            ty.path.segments.len() > 1 && ty.path.segments.first().is_some_and(|s| s.ident != "diesel");
        if let Some(inner) = arg {
            let mut inner_nullable = false;
            let wrap = |r: &Self, n: &mut bool| r.kind(inner, n, false);
            match name.as_str() {
                "Nullable" => {
                    if top {
                        *nullable = true;
                    }
                    return wrap(self, &mut inner_nullable);
                }
                "Array" => return DieselKind::Array(Box::new(wrap(self, &mut inner_nullable))),
                "Range" => return DieselKind::Range(Box::new(wrap(self, &mut inner_nullable))),
                "Multirange" => return DieselKind::Multirange(Box::new(wrap(self, &mut inner_nullable))),
                "Unsigned" => return DieselKind::Unsigned(Box::new(wrap(self, &mut inner_nullable))),
                _ => {}
            }
        }
        let custom = self.custom.get(&name);
        let prefer_custom = qualified_outside_diesel || self.imported.contains(&name) || builtin(&name).is_none();
        if let (Some(c), true) = (custom, prefer_custom) {
            return DieselKind::Custom { path: written, sql_name: Some(c.sql_name.clone()), schema: c.schema.clone() };
        }
        if !qualified_outside_diesel || custom.is_none() {
            if let Some(b) = builtin(&name) {
                return DieselKind::Builtin(b);
            }
            if let Some(r) = range_alias(&name) {
                return r;
            }
        }
        DieselKind::Custom { path: written, sql_name: None, schema: None }
    }
}

fn tokens_text(ty: &syn::TypePath) -> String {
    let text = quote::ToTokens::to_token_stream(ty).to_string();
    text.replace(" :: ", "::").replace(" < ", "<").replace(" <", "<").replace("< ", "<").replace(" >", ">")
}

/// Names a `use` item brings in from outside `diesel` (`use super::sql_types::Mood;`).
fn imported_names(u: &syn::ItemUse) -> Vec<String> {
    fn walk(tree: &syn::UseTree, from_diesel: bool, first: bool, out: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                let diesel = if first { p.ident == "diesel" } else { from_diesel };
                walk(&p.tree, diesel, false, out);
            }
            syn::UseTree::Name(n) if !from_diesel => out.push(n.ident.to_string()),
            syn::UseTree::Rename(r) if !from_diesel => out.push(r.rename.to_string()),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| walk(t, from_diesel, first, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&u.tree, false, true, &mut out);
    out
}

fn range_of(span: Span, shift: usize) -> Range<usize> {
    let r = span.byte_range();
    r.start + shift..r.end + shift
}

fn line_of(span: Span) -> usize {
    span.start().line
}

fn parse_finding(path: &Path, e: &syn::Error, shift: usize) -> Finding {
    Finding::new("declared-parse", Severity::Error, format!("cannot read the diesel schema: {e}"))
        .at(Location::span(path, range_of(e.span(), shift)))
        .help("fix the syntax (`diesel print-schema` writes a valid file), then run the check again")
}

/// Parse a diesel `schema.rs` text; `path` is used for locations. The result covers what the
/// defaults of `print-schema` cover (see [`read_schema_rs`] for `diesel.toml`'s filters).
pub fn parse_schema_rs(path: &Path, text: &str, dialect: Dialect) -> Declared {
    let source = DieselSource::plain(path.to_path_buf());
    parse_with(&source, text, dialect)
}

/// Read and parse the `schema.rs` of `source`.
pub fn read_schema_rs(source: &DieselSource, dialect: Dialect) -> Result<Declared, DeclaredError> {
    let text = std::fs::read_to_string(&source.file)
        .map_err(|e| DeclaredError::Read { path: source.file.clone(), source: e })?;
    Ok(parse_with(source, &text, dialect))
}

fn parse_with(source: &DieselSource, text: &str, dialect: Dialect) -> Declared {
    let path = source.file.as_path();
    // proc-macro2 spans count from the text given to it: keep a BOM out and shift back.
    let (body, shift) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, '\u{feff}'.len_utf8()),
        None => (text, 0),
    };
    let mut declared = Declared {
        kind: SourceKind::Diesel,
        path: path.to_path_buf(),
        tables: Vec::new(),
        coverage: source.coverage.clone(),
        findings: Vec::new(),
    };
    let file = match syn::parse_file(body) {
        Ok(f) => f,
        Err(e) => {
            declared.findings.push(parse_finding(path, &e, shift));
            return declared;
        }
    };
    let mut custom = BTreeMap::new();
    collect_custom_types(&file.items, &mut custom);
    let mut macros = Vec::new();
    collect_tables(&file.items, &mut macros);
    for m in macros {
        let parsed: TableMacro = match syn::parse2(m.mac.tokens.clone()) {
            Ok(t) => t,
            Err(e) => {
                declared.findings.push(parse_finding(path, &e, shift));
                continue;
            }
        };
        match table_of(&parsed, &custom, dialect, path, shift, &mut declared.findings) {
            Ok(t) => declared.tables.push(t),
            Err(e) => declared.findings.push(parse_finding(path, &e, shift)),
        }
    }
    declared
}

fn table_of(
    t: &TableMacro,
    custom: &BTreeMap<String, CustomType>,
    dialect: Dialect,
    path: &Path,
    shift: usize,
    findings: &mut Vec<Finding>,
) -> syn::Result<DeclaredTable> {
    let name = sql_name(&t.attrs, &t.name)?;
    let schema = t.schema.as_ref().map(|s| s.unraw().to_string());
    let key = table_key(dialect, schema.as_deref(), &name);
    let resolver = Resolver { custom, imported: t.uses.iter().flat_map(imported_names).collect() };
    let mut columns = Vec::new();
    let mut rust_to_sql = BTreeMap::new();
    for c in &t.columns {
        let col_name = sql_name(&c.attrs, &c.name)?;
        rust_to_sql.insert(c.name.unraw().to_string(), col_name.clone());
        let max_length = match attr_lit(&c.attrs, "max_length")? {
            Some(syn::Lit::Int(i)) => Some(i.base10_parse::<u64>()?),
            Some(other) => return Err(syn::Error::new(other.span(), "`#[max_length]` needs an integer")),
            None => None,
        };
        let mut nullable = false;
        let kind = resolver.kind(&c.ty, &mut nullable, true);
        let span = c.name.span().join(c.ty.span()).unwrap_or_else(|| c.name.span());
        if let DieselKind::Custom { path: p, sql_name: None, .. } = &kind {
            findings.push(
                Finding::new(
                    "declared-unknown-type",
                    Severity::Warning,
                    format!("type `{p}` of column {key}.{col_name} is not a diesel SQL type dbcheck knows: its type is not compared"),
                )
                .at(Location::span(path, range_of(span, shift)))
                .help("define it in the file's `sql_types` module with `#[diesel(postgres_type(name = \"…\"))]` (as `diesel print-schema` does) so dbcheck can compare it"),
            );
        }
        columns.push(DeclaredColumn {
            name: col_name,
            ty: DeclaredType::Diesel(DieselType { written: tokens_text(&c.ty), kind, max_length }),
            nullable,
            line: line_of(c.name.span()),
            span: range_of(span, shift),
        });
    }
    // The key names Rust columns; diesel's default is `id`.
    let primary_key = match &t.key {
        Some((span, keys)) => DeclaredKey {
            columns: keys
                .iter()
                .map(|k| {
                    let rust = k.unraw().to_string();
                    rust_to_sql.get(&rust).cloned().unwrap_or(rust)
                })
                .collect(),
            span: range_of(*span, shift),
        },
        None => DeclaredKey {
            columns: vec![rust_to_sql.get("id").cloned().unwrap_or_else(|| "id".to_owned())],
            span: range_of(t.name.span(), shift),
        },
    };
    Ok(DeclaredTable {
        key,
        line: line_of(t.name.span()),
        span: range_of(t.name.span(), shift),
        primary_key: Some(primary_key),
        columns,
    })
}

/// The tables and columns a diesel `schema.rs` uses: one [`CodeRef`] per table (column `None`)
/// and one per column.
pub fn code_refs(declared: &Declared) -> Vec<CodeRef> {
    let mut out = Vec::new();
    for t in &declared.tables {
        out.push(CodeRef {
            table: t.key.clone(),
            column: None,
            path: declared.path.clone(),
            line: t.line,
            span: t.span.clone(),
            item: format!("diesel table {}", t.key),
        });
        for c in &t.columns {
            out.push(CodeRef {
                table: t.key.clone(),
                column: Some(c.name.clone()),
                path: declared.path.clone(),
                line: c.line,
                span: c.span.clone(),
                item: format!("diesel table {}, column {}", t.key, c.name),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Declared {
        parse_schema_rs(Path::new("schema.rs"), text, Dialect::Postgres)
    }

    fn diesel(d: &Declared, table: usize, col: usize) -> &DieselType {
        match &d.tables[table].columns[col].ty {
            DeclaredType::Diesel(t) => t,
            DeclaredType::Sql(_) => panic!("not a diesel type"),
        }
    }

    #[test]
    fn reads_tables_columns_keys_and_attributes() {
        let text = "// @generated\npub mod sql_types {\n    #[derive(diesel::sql_types::SqlType)]\n    #[diesel(postgres_type(name = \"mood\"))]\n    pub struct Mood;\n}\n\ndiesel::table! {\n    use diesel::sql_types::*;\n    use super::sql_types::Mood;\n\n    /// People.\n    #[sql_name = \"people\"]\n    persons (person_id, r#type) {\n        person_id -> Int8,\n        #[sql_name = \"type\"]\n        r#type -> Text,\n        #[max_length = 200]\n        name -> Nullable<Varchar>,\n        tags -> Array<Nullable<Text>>,\n        mood -> Nullable<Mood>,\n        during -> Tstzrange,\n    }\n}\n\ntable! {\n    other.things {\n        id -> Integer,\n    }\n}\n\ndiesel::joinable!(a -> b (c));\ndiesel::allow_tables_to_appear_in_same_query!(persons, things,);\n";
        let d = parse(text);
        assert!(d.findings.is_empty(), "{:?}", d.findings);
        assert_eq!(d.tables.len(), 2);
        let t = &d.tables[0];
        assert_eq!(t.key, "people");
        assert_eq!(t.primary_key.as_ref().unwrap().columns, ["person_id", "type"]);
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["person_id", "type", "name", "tags", "mood", "during"]);
        assert_eq!(diesel(&d, 0, 0).kind, DieselKind::Builtin("BigInt"));
        assert!(!t.columns[0].nullable);
        assert_eq!(diesel(&d, 0, 2).kind, DieselKind::Builtin("Text"));
        assert_eq!(diesel(&d, 0, 2).max_length, Some(200));
        assert!(t.columns[2].nullable);
        assert_eq!(diesel(&d, 0, 3).kind, DieselKind::Array(Box::new(DieselKind::Builtin("Text"))));
        assert!(!t.columns[3].nullable, "element nullability is not the column's");
        assert!(matches!(&diesel(&d, 0, 4).kind, DieselKind::Custom { sql_name: Some(n), .. } if n == "mood"));
        assert_eq!(diesel(&d, 0, 5).kind, DieselKind::Range(Box::new(DieselKind::Builtin("Timestamptz"))));
        // The span points at the column's text.
        let c = &t.columns[2];
        assert_eq!(&text[c.span.clone()], "name -> Nullable<Varchar>");
        assert_eq!(c.line, text[..c.span.start].matches('\n').count() + 1);
        let other = &d.tables[1];
        assert_eq!(other.key, "other.things");
        assert_eq!(other.primary_key.as_ref().unwrap().columns, ["id"], "diesel's default key");
        assert_eq!(&text[other.span.clone()], "things");
    }

    #[test]
    fn syntax_errors_and_unknown_types_are_findings() {
        let d = parse("diesel::table! {\n    ads (id) {\n        id -> ,\n    }\n}\n");
        assert_eq!(d.findings.len(), 1);
        assert_eq!(d.findings[0].code, "declared-parse");
        let d = parse("fn main( {");
        assert_eq!(d.findings[0].code, "declared-parse");
        let d = parse("diesel::table! {\n    ads (id) {\n        id -> crate::Weird,\n    }\n}\n");
        assert_eq!(d.findings.len(), 1);
        assert_eq!(d.findings[0].code, "declared-unknown-type");
        assert_eq!(d.tables.len(), 1);
    }

    #[test]
    fn bom_keeps_spans_on_the_original_text() {
        let text = "\u{feff}diesel::table! {\n    ads (id) {\n        id -> Int8,\n    }\n}\n";
        let d = parse(text);
        assert_eq!(&text[d.tables[0].span.clone()], "ads");
    }

    #[test]
    fn truncated_and_mangled_files_never_panic() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/diesel/types/schema.rs");
        let text = std::fs::read_to_string(path).unwrap();
        for (i, _) in text.char_indices() {
            let _ = parse(&text[..i]);
            let mangled = format!("{}Ünï{}", &text[..i], &text[i..]);
            let _ = parse(&mangled);
        }
        assert_eq!(
            expected_kind(Dialect::Postgres, "\"ünïcode\"").map(|k| k.spelled(Dialect::Postgres)).unwrap(),
            "a custom type for `ünïcode`"
        );
    }

    #[test]
    fn postgres_types_map_to_what_print_schema_writes() {
        let k = |t| expected_kind(Dialect::Postgres, t).unwrap().spelled(Dialect::Postgres);
        assert_eq!(k("integer"), "Int4");
        assert_eq!(k("bigint"), "Int8");
        assert_eq!(k("varchar(20)"), "Text");
        assert_eq!(k("numeric(10,2)"), "Numeric");
        assert_eq!(k("timestamptz(3)"), "Timestamptz");
        assert_eq!(k("integer[]"), "Array<Nullable<Int4>>");
        assert_eq!(k("int4range"), "Range<Int4>");
        assert_eq!(k("mood"), "a custom type for `mood`");
    }

    #[test]
    fn sqlite_follows_diesel_inference() {
        let k = |t| expected_kind(Dialect::Sqlite, t).map(|k| k.spelled(Dialect::Sqlite));
        assert_eq!(k("integer").as_deref(), Some("Integer"));
        assert_eq!(k("bigint").as_deref(), Some("BigInt"));
        assert_eq!(k("boolean").as_deref(), Some("Bool"));
        assert_eq!(k("varchar(20)").as_deref(), Some("Text"));
        assert_eq!(k("numeric(10,2)").as_deref(), Some("Double"));
        assert_eq!(k("datetime").as_deref(), Some("Timestamp"));
        assert_eq!(k("").as_deref(), Some("Binary"));
        assert_eq!(k("uuid"), None);
    }

    #[test]
    fn lengths_and_aliases_are_compared() {
        let ty = |written: &str, kind, max_length| DieselType { written: written.into(), kind, max_length };
        let col = |t: &str| Column::new("c", t);
        let text = ty("Varchar", DieselKind::Builtin("Text"), Some(20));
        assert_eq!(type_mismatch(Dialect::Postgres, &text, &col("varchar(20)"), false), None);
        assert!(type_mismatch(Dialect::Postgres, &text, &col("varchar(30)"), false).is_some());
        assert!(type_mismatch(Dialect::Postgres, &text, &col("text"), false).is_some());
        let plain = ty("Text", DieselKind::Builtin("Text"), None);
        assert_eq!(type_mismatch(Dialect::Postgres, &plain, &col("varchar(30)"), false), None);
        let big = ty("BigInt", DieselKind::Builtin("BigInt"), None);
        assert!(type_mismatch(Dialect::Postgres, &big, &col("integer"), false).is_some());
        assert_eq!(type_mismatch(Dialect::Sqlite, &big, &col("integer"), true), None, "rowid is an i64");
        assert!(type_mismatch(Dialect::Sqlite, &big, &col("integer"), false).is_some());
    }
}
