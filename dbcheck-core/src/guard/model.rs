//! The parsed `#[schema_guard(...)]` struct, shared by the proc macro and the CLI's source
//! scanner: the attribute's options, and per field the column it maps to (`#[column]`, sqlx,
//! diesel and serde renames) and the type that must fit it.

use std::path::PathBuf;

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::spanned::Spanned;

use crate::db::Dialect;

/// A struct under `#[schema_guard]`.
#[derive(Debug, Clone)]
pub struct GuardedStruct {
    /// The struct's name.
    pub name: String,
    /// Span of the struct's name.
    pub name_span: Span,
    /// `table = "..."`.
    pub table: String,
    /// Span of the table's string literal.
    pub table_span: Span,
    /// `schema = "..."`: the table's namespace, when not the default one.
    pub schema: Option<String>,
    /// The other options.
    pub options: GuardOptions,
    /// The fields that map to columns, in order (skipped fields are left out).
    pub fields: Vec<GuardedField>,
}

/// The options of `#[schema_guard(...)]` besides the table.
#[derive(Debug, Clone, Default)]
pub struct GuardOptions {
    /// `exhaustive`: every column must be a field (the span of the keyword).
    pub exhaustive: Option<Span>,
    /// `insertable`: every NOT NULL column without a default must be a field.
    pub insertable: Option<Span>,
    /// `migrations = "..."`: the migrations folder, relative to the crate root, instead of the
    /// configured one.
    pub migrations: Option<(PathBuf, Span)>,
    /// `dialect = "..."`: instead of the configured `dialect`.
    pub dialect: Option<(Dialect, Span)>,
}

/// One field and the column it maps to.
#[derive(Debug, Clone)]
pub struct GuardedField {
    /// The field's name in Rust.
    pub ident: String,
    /// Span of the field's name.
    pub span: Span,
    /// The column it maps to.
    pub column: String,
    /// The span to blame for a missing column: the rename's literal, else the field's name.
    pub column_span: Span,
    /// The type whose compatibility is checked (`#[sqlx(try_from = "...")]`'s type when given).
    pub ty: syn::Type,
    /// Span of that type's first token.
    pub ty_span: Span,
    /// Span of that type's last token (the same as `ty_span` for one-token types).
    pub ty_end: Span,
    /// `#[column(sql_type = "...")]`: the SQL type the field's Rust type encodes (an override
    /// for custom types and enums), with the literal's span.
    pub sql_type: Option<(String, Span)>,
    /// `#[sqlx(json)]`: the value is stored as JSON whatever its Rust type.
    pub json: bool,
}

/// The helper attribute `#[schema_guard]` defines on fields (and removes before emitting).
pub const COLUMN_ATTRIBUTE: &str = "column";

fn lit_str(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<syn::LitStr> {
    meta.value()?.parse::<syn::LitStr>()
}

/// Consume and ignore whatever follows a key we do not interpret (`= value` or `(...)`).
fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| skip_value(&inner))?;
    }
    Ok(())
}

fn meta_name(meta: &syn::meta::ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map_or_else(|| quote::ToTokens::to_token_stream(&meta.path).to_string().replace(' ', ""), ToString::to_string)
}

/// Parse a dialect name as the configuration's `dialect` key spells it.
pub fn parse_dialect(name: &str) -> Option<Dialect> {
    match name {
        "postgres" => Some(Dialect::Postgres),
        "sqlite" => Some(Dialect::Sqlite),
        "mysql" => Some(Dialect::Mysql),
        _ => None,
    }
}

/// What the struct-level attributes say about renaming (`#[sqlx(rename_all = "...")]`, then
/// serde's).
fn rename_all(attrs: &[syn::Attribute]) -> Option<String> {
    let mut found: Option<(u8, String)> = None;
    for attr in attrs {
        let rank = if attr.path().is_ident("sqlx") {
            2
        } else if attr.path().is_ident("serde") {
            1
        } else {
            continue;
        };
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") && meta.input.peek(syn::Token![=]) {
                let value = lit_str(&meta)?.value();
                if found.as_ref().is_none_or(|(r, _)| *r < rank) {
                    found = Some((rank, value));
                }
                Ok(())
            } else {
                skip_value(&meta)
            }
        });
    }
    found.map(|(_, v)| v)
}

/// `name` (a snake_case field name) in the case `rule` (serde's and sqlx's spellings).
pub fn apply_rename_all(rule: &str, name: &str) -> Option<String> {
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    let capitalize = |w: &str| {
        let mut c = w.chars();
        c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
    };
    Some(match rule {
        "lowercase" => name.to_lowercase(),
        "UPPERCASE" => name.to_uppercase(),
        "snake_case" => name.to_owned(),
        "SCREAMING_SNAKE_CASE" => name.to_uppercase(),
        "kebab-case" => words.join("-"),
        "SCREAMING-KEBAB-CASE" => words.join("-").to_uppercase(),
        "PascalCase" => words.iter().map(|w| capitalize(w)).collect(),
        "camelCase" => {
            words.iter().enumerate().map(|(i, w)| if i == 0 { (*w).to_owned() } else { capitalize(w) }).collect()
        }
        _ => return None,
    })
}

impl GuardedStruct {
    /// Parse `input` (the struct) and `args` (the tokens inside `#[schema_guard(...)]`). Every
    /// problem with the attributes is returned, each at its token.
    pub fn from_derive(input: &syn::DeriveInput, args: TokenStream) -> Result<Self, Vec<syn::Error>> {
        let mut errors = Vec::new();
        let mut table: Option<syn::LitStr> = None;
        let mut schema = None;
        let mut options = GuardOptions::default();
        let parser = syn::meta::parser(|meta| {
            let key = meta_name(&meta);
            match key.as_str() {
                "table" => table = Some(lit_str(&meta)?),
                "schema" => schema = Some(lit_str(&meta)?.value()),
                "exhaustive" => options.exhaustive = Some(meta.path.span()),
                "insertable" => options.insertable = Some(meta.path.span()),
                "migrations" => {
                    let lit = lit_str(&meta)?;
                    options.migrations = Some((PathBuf::from(lit.value()), lit.span()));
                }
                "dialect" => {
                    let lit = lit_str(&meta)?;
                    match parse_dialect(&lit.value()) {
                        Some(d) => options.dialect = Some((d, lit.span())),
                        None => errors.push(syn::Error::new(
                            lit.span(),
                            format!("unknown dialect `{}`: expected `postgres`, `sqlite` or `mysql`", lit.value()),
                        )),
                    }
                }
                _ => {
                    errors.push(meta.error(format!(
                        "unknown schema_guard option `{key}`: expected `table`, `schema`, `exhaustive`, \
                         `insertable`, `migrations` or `dialect`"
                    )));
                    skip_value(&meta)?;
                }
            }
            Ok(())
        });
        if let Err(e) = parser.parse2(args.clone()) {
            errors.push(e);
        }
        let syn::Data::Struct(data) = &input.data else {
            errors.push(syn::Error::new(input.ident.span(), "#[schema_guard] goes on a struct"));
            return Err(errors);
        };
        if table.is_none() && errors.is_empty() {
            let span = args.clone().into_iter().next().map_or_else(|| input.ident.span(), |t| t.span());
            errors.push(syn::Error::new(span, "#[schema_guard] needs the table: `#[schema_guard(table = \"ads\")]`"));
        }
        let rule = rename_all(&input.attrs);
        let mut fields = Vec::new();
        for (index, field) in data.fields.iter().enumerate() {
            match parse_field(field, index, rule.as_deref()) {
                Ok(Some(f)) => fields.push(f),
                Ok(None) => {}
                Err(mut e) => errors.append(&mut e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let Some(table) = table else { return Err(errors) };
        Ok(GuardedStruct {
            name: input.ident.to_string(),
            name_span: input.ident.span(),
            table: table.value(),
            table_span: table.span(),
            schema,
            options,
            fields,
        })
    }
}

/// A field's column, type and overrides; `Ok(None)` for a skipped field.
fn parse_field(field: &syn::Field, index: usize, rule: Option<&str>) -> Result<Option<GuardedField>, Vec<syn::Error>> {
    let mut errors = Vec::new();
    let (ident, span) = match &field.ident {
        Some(i) => (i.to_string().trim_start_matches("r#").to_owned(), i.span()),
        None => (index.to_string(), field.ty.span()),
    };
    // Renames by precedence: #[column] (3), sqlx (2), diesel (1), serde (0).
    let mut rename: Option<(u8, String, Span)> = None;
    let mut set_rename = |rank: u8, name: String, span: Span| {
        if rename.as_ref().is_none_or(|(r, _, _)| *r < rank) {
            rename = Some((rank, name, span));
        }
    };
    let mut skip = false;
    let mut sql_type = None;
    let mut json = false;
    let mut try_from: Option<syn::Type> = None;
    for attr in &field.attrs {
        let path = attr.path();
        if path.is_ident(COLUMN_ATTRIBUTE) {
            let result = match &attr.meta {
                syn::Meta::List(list) => {
                    if let Ok(lit) = syn::parse2::<syn::LitStr>(list.tokens.clone()) {
                        set_rename(3, lit.value(), lit.span());
                        Ok(())
                    } else {
                        attr.parse_nested_meta(|meta| {
                            let key = meta_name(&meta);
                            match key.as_str() {
                                "name" => {
                                    let lit = lit_str(&meta)?;
                                    set_rename(3, lit.value(), lit.span());
                                }
                                "sql_type" => {
                                    let lit = lit_str(&meta)?;
                                    sql_type = Some((lit.value(), lit.span()));
                                }
                                "skip" => skip = true,
                                _ => {
                                    errors.push(meta.error(format!(
                                        "unknown column option `{key}`: expected a column name (`#[column(\"slug\")]`), \
                                         `name = \"...\"`, `sql_type = \"...\"` or `skip`"
                                    )));
                                    skip_value(&meta)?;
                                }
                            }
                            Ok(())
                        })
                    }
                }
                _ => Err(syn::Error::new(
                    attr.span(),
                    "expected `#[column(\"name\")]` or `#[column(name = \"...\", sql_type = \"...\", skip)]`",
                )),
            };
            if let Err(e) = result {
                errors.push(e);
            }
        } else if path.is_ident("sqlx") {
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") && meta.input.peek(syn::Token![=]) {
                    let lit = lit_str(&meta)?;
                    set_rename(2, lit.value(), lit.span());
                } else if meta.path.is_ident("skip") || meta.path.is_ident("flatten") {
                    skip = true;
                } else if meta.path.is_ident("json") {
                    json = true;
                } else if meta.path.is_ident("try_from") && meta.input.peek(syn::Token![=]) {
                    let lit = lit_str(&meta)?;
                    try_from = lit.parse::<syn::Type>().ok();
                } else {
                    skip_value(&meta)?;
                }
                Ok(())
            });
        } else if path.is_ident("diesel") {
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("column_name") {
                    let value = meta.value()?;
                    if value.peek(syn::LitStr) {
                        let lit: syn::LitStr = value.parse()?;
                        set_rename(1, lit.value(), lit.span());
                    } else {
                        let ident: syn::Ident = value.parse()?;
                        set_rename(1, ident.to_string().trim_start_matches("r#").to_owned(), ident.span());
                    }
                } else {
                    skip_value(&meta)?;
                }
                Ok(())
            });
        } else if path.is_ident("serde") {
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    if meta.input.peek(syn::Token![=]) {
                        let lit = lit_str(&meta)?;
                        set_rename(0, lit.value(), lit.span());
                    } else {
                        meta.parse_nested_meta(|inner| {
                            if inner.path.is_ident("deserialize") {
                                let lit = lit_str(&inner)?;
                                set_rename(0, lit.value(), lit.span());
                            } else {
                                skip_value(&inner)?;
                            }
                            Ok(())
                        })?;
                    }
                } else {
                    skip_value(&meta)?;
                }
                Ok(())
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if skip {
        return Ok(None);
    }
    let (column, column_span) = match rename {
        Some((_, name, span)) => (name, span),
        None => (rule.and_then(|r| apply_rename_all(r, &ident)).unwrap_or_else(|| ident.clone()), span),
    };
    let ty = try_from.unwrap_or_else(|| field.ty.clone());
    let tokens: Vec<proc_macro2::TokenTree> = quote::ToTokens::to_token_stream(&field.ty).into_iter().collect();
    let ty_span = tokens.first().map_or_else(|| field.ty.span(), proc_macro2::TokenTree::span);
    let ty_end = tokens.last().map_or(ty_span, proc_macro2::TokenTree::span);
    Ok(Some(GuardedField { ident, span, column, column_span, ty_span, ty_end, ty, sql_type, json }))
}

/// `input` with the helper attributes `#[schema_guard]` defines removed from its fields, so the
/// compiler never sees them; nothing else changes.
pub fn strip_helper_attributes(input: &mut syn::DeriveInput) {
    if let syn::Data::Struct(data) = &mut input.data {
        for field in data.fields.iter_mut() {
            field.attrs.retain(|a| !a.path().is_ident(COLUMN_ATTRIBUTE));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &str, item: &str) -> Result<GuardedStruct, Vec<syn::Error>> {
        let input: syn::DeriveInput = syn::parse_str(item).unwrap();
        GuardedStruct::from_derive(&input, args.parse().unwrap())
    }

    #[test]
    fn renames_follow_precedence() {
        let g = parse(
            r#"table = "ads", exhaustive, dialect = "sqlite""#,
            r#"#[serde(rename_all = "camelCase")]
            struct Ad {
                id: i64,
                #[serde(rename = "s1")] #[sqlx(rename = "s2")] slug: String,
                #[diesel(column_name = title_col)] title: String,
                #[column("c1")] #[sqlx(rename = "c2")] created_at: String,
                updated_at: String,
                #[sqlx(skip)] cache: u8,
                #[column(skip)] other: u8,
                #[sqlx(try_from = "i64")] n: u64,
            }"#,
        )
        .unwrap();
        let cols: Vec<&str> = g.fields.iter().map(|f| f.column.as_str()).collect();
        assert_eq!(cols, ["id", "s2", "title_col", "c1", "updatedAt", "n"]);
        assert!(g.options.exhaustive.is_some());
        assert_eq!(g.options.dialect.map(|d| d.0), Some(Dialect::Sqlite));
        assert_eq!(crate::guard::types::type_text(&g.fields[5].ty), "i64");
    }

    #[test]
    fn every_attribute_problem_is_reported() {
        let errors =
            parse(r#"table = "ads", exhaustve, dialect = "oracle""#, "struct A { #[column(nme = \"x\")] a: i32 }")
                .err()
                .unwrap();
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].contains("exhaustve"));
        assert!(messages[1].contains("oracle"));
        assert!(messages[2].contains("nme"));
        let missing = parse("", "struct A { a: i32 }").err().unwrap();
        assert!(missing[0].to_string().contains("needs the table"));
        assert!(parse(r#"table = "t""#, "enum E { A }").is_err());
    }
}
