//! The CLI's view of `#[schema_guard]`: the crate's sources parsed with `syn`, guarded structs
//! found with their files and spans, checked like the macro checks them, and turned into
//! findings and code references.
//!
//! Spans of parsed files are only meaningful on the thread that parsed them (proc-macro2 keeps
//! its source map per thread), so scan and turn into findings on one thread.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use proc_macro2::Span;

use super::GuardError;
use super::check::{MismatchKind, check};
use super::load::{SchemaSource, load_schema};
use super::model::GuardedStruct;
use crate::declared::CodeRef;
use crate::report::{Finding, Location, Severity};

/// A struct with `#[schema_guard(...)]` found in a source file.
#[derive(Debug, Clone)]
pub struct ScannedStruct {
    /// The file, relative to the scanned crate root.
    pub path: PathBuf,
    /// 1-based line of the struct's name.
    pub line: usize,
    /// Byte range of the struct item in the file.
    pub span: Range<usize>,
    /// The parsed guard, or the problems with its attributes (each with its span).
    pub guarded: Result<GuardedStruct, Vec<(Span, String)>>,
}

/// Whether `path` names the attribute (`schema_guard`, `dbcheck::schema_guard`,
/// `dbcheck_macros::schema_guard`).
fn is_guard(path: &syn::Path) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    matches!(names.iter().map(String::as_str).collect::<Vec<_>>().as_slice(), [.., "schema_guard"])
        && (names.len() == 1 || matches!(names[0].as_str(), "dbcheck" | "dbcheck_macros"))
}

fn byte_range(span: Span) -> Range<usize> {
    span.byte_range()
}

fn collect(items: &[syn::Item], path: &Path, out: &mut Vec<ScannedStruct>) {
    for item in items {
        match item {
            syn::Item::Struct(s) => {
                let Some(attr) = s.attrs.iter().find(|a| is_guard(a.path())) else { continue };
                let args = match &attr.meta {
                    syn::Meta::List(list) => list.tokens.clone(),
                    _ => proc_macro2::TokenStream::new(),
                };
                let mut input = syn::DeriveInput::from(s.clone());
                input.attrs.retain(|a| !is_guard(a.path()));
                let guarded = GuardedStruct::from_derive(&input, args)
                    .map_err(|errors| errors.iter().map(|e| (e.span(), e.to_string())).collect());
                let start = s.ident.span().start();
                let whole = syn::spanned::Spanned::span(s);
                out.push(ScannedStruct {
                    path: path.to_path_buf(),
                    line: start.line,
                    span: byte_range(whole),
                    guarded,
                });
            }
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    collect(inner, path, out);
                }
            }
            _ => {}
        }
    }
}

/// Every guarded struct in the crate at `root`: `.rs` files under `src/`, `tests/`, `examples/`
/// and `benches/` (files that do not mention `schema_guard` are not parsed; files that do not
/// parse are left to the compiler).
pub fn scan_sources(root: &Path) -> Result<Vec<ScannedStruct>, GuardError> {
    let mut out = Vec::new();
    for top in ["src", "tests", "examples", "benches"] {
        let mut stack = vec![root.join(top)];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(GuardError::Read { path: dir, source }),
            };
            let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths.into_iter().rev() {
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "rs") {
                    let text =
                        std::fs::read_to_string(&p).map_err(|source| GuardError::Read { path: p.clone(), source })?;
                    if !text.contains("schema_guard") {
                        continue;
                    }
                    let Ok(file) = syn::parse_file(&text) else { continue };
                    let rel = p.strip_prefix(root).map_or_else(|_| p.clone(), Path::to_path_buf);
                    collect(&file.items, &rel, &mut out);
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.path, a.span.start).cmp(&(&b.path, b.span.start)));
    Ok(out)
}

/// The `guard-*` findings of `structs` (scanned from the crate at `root`): each struct checked
/// against the schema its crate's migrations produce (honouring its `migrations`/`dialect`
/// options), at the field's span. A schema that cannot be loaded is one
/// `guard-schema-unavailable` finding per source.
pub fn findings(root: &Path, structs: &[ScannedStruct]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut schemas = HashMap::new();
    for s in structs {
        let g = match &s.guarded {
            Ok(g) => g,
            Err(errors) => {
                for (span, message) in errors {
                    out.push(
                        Finding::new(MismatchKind::Attribute.code(), Severity::Error, message.clone())
                            .at(Location::span(&s.path, byte_range(*span)))
                            .help("see docs/schema-guard.md for the attribute's options"),
                    );
                }
                continue;
            }
        };
        let source = SchemaSource {
            root: root.to_path_buf(),
            migrations: g.options.migrations.as_ref().map(|m| m.0.clone()),
            dialect: g.options.dialect.map(|d| d.0),
        };
        let loaded = schemas.entry(source.clone()).or_insert_with(|| load_schema(&source));
        match loaded {
            Ok(schema) => {
                for m in check(g, &schema.schema, schema.dialect) {
                    out.push(
                        Finding::new(m.kind.code(), Severity::Error, m.message)
                            .at(Location::span(&s.path, m.span.byte_range().start..m.end.byte_range().end))
                            .help(m.help),
                    );
                }
            }
            Err(e) => out.push(
                Finding::new(
                    "guard-schema-unavailable",
                    Severity::Error,
                    format!("cannot load the schema for `{}`: {e}", g.name),
                )
                .at(Location::span(&s.path, byte_range(g.name_span)))
                .help("fix the dbcheck configuration or the migrations folder it names"),
            ),
        }
    }
    out
}

/// The tables and columns guarded structs use, one [`CodeRef`] per field (column set) and one
/// per struct (the whole table).
pub fn code_refs(structs: &[ScannedStruct]) -> Vec<CodeRef> {
    let mut out = Vec::new();
    for s in structs {
        let Ok(g) = &s.guarded else { continue };
        let table = match &g.schema {
            Some(ns) if !matches!(ns.as_str(), "public" | "main") => format!("{ns}.{}", g.table),
            _ => g.table.clone(),
        };
        out.push(CodeRef {
            table: table.clone(),
            column: None,
            path: s.path.clone(),
            line: s.line,
            span: s.span.clone(),
            item: format!("struct {}", g.name),
        });
        for f in &g.fields {
            out.push(CodeRef {
                table: table.clone(),
                column: Some(f.column.clone()),
                path: s.path.clone(),
                line: f.span.start().line,
                span: byte_range(f.span),
                item: format!("struct {}, field {}", g.name, f.ident),
            });
        }
    }
    out
}

/// The columns guarded structs read as never NULL (fields that are not `Option<T>`): where the
/// database still allows NULL, a NULL row fails to decode — `integrity` reports the missing
/// constraint.
pub fn non_null_refs(structs: &[ScannedStruct]) -> Vec<CodeRef> {
    let optional: std::collections::BTreeSet<(String, String)> = structs
        .iter()
        .filter_map(|s| s.guarded.as_ref().ok())
        .flat_map(|g| {
            g.fields
                .iter()
                .filter(|f| super::types::field_type(&f.ty).optional)
                .map(|f| (format!("struct {}, field {}", g.name, f.ident), f.column.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    code_refs(structs)
        .into_iter()
        .filter(|r| r.column.as_ref().is_some_and(|c| !optional.contains(&(r.item.clone(), c.clone()))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanned_structs_give_findings_at_the_macro_spans_and_code_refs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[package.metadata.dbcheck]\ndialect = \"sqlite\"\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("migrations")).unwrap();
        std::fs::write(
            root.join("migrations/0001_ads.sql"),
            "CREATE TABLE ads (\n  id INTEGER PRIMARY KEY,\n  title TEXT NOT NULL,\n  slug TEXT\n);\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("src/models")).unwrap();
        let src = "mod inner {\n    #[dbcheck::schema_guard(table = \"ads\")]\n    pub struct Ad {\n        pub id: i64,\n        \
                   pub slug: String,\n        #[column(\"titel\")]\n        pub title: Option<String>,\n    }\n}\n\
                   #[schema_guard(table = \"ads\", exhaustve)]\nstruct Bad { id: i64 }\n";
        std::fs::write(root.join("src/models/ads.rs"), src).unwrap();
        std::fs::write(root.join("src/lib.rs"), "// no guards here\nmod models;\n").unwrap();

        let structs = scan_sources(root).unwrap();
        assert_eq!(structs.len(), 2);
        assert_eq!(structs[0].path, Path::new("src/models/ads.rs"));
        assert_eq!(structs[0].line, 3);
        let found = findings(root, &structs);
        let at = |f: &Finding| match &f.location {
            Some(Location::File { span: Some(s), .. }) => &src[s.clone()],
            other => panic!("no span: {other:?}"),
        };
        let got: Vec<(&str, &str)> = found.iter().map(|f| (f.code, at(f))).collect();
        assert_eq!(
            got,
            [("guard-nullability", "String"), ("guard-column-missing", "\"titel\""), ("guard-attribute", "exhaustve"),]
        );
        assert_eq!(found[0].message, "`ads.slug` is nullable since migrations/0001_ads.sql:4");

        let refs = code_refs(&structs);
        let cols: Vec<Option<&str>> = refs.iter().map(|r| r.column.as_deref()).collect();
        assert_eq!(cols, [None, Some("id"), Some("slug"), Some("titel")]);
        assert_eq!(refs[2].item, "struct Ad, field slug");
        assert_eq!(&src[refs[2].span.clone()], "slug");
        assert_eq!(refs[2].line, 5);
    }
}
