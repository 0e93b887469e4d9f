//! `#[schema_guard(table = "ads")]`: a struct checked at compile time against the schema its
//! crate's migrations produce. This crate is a shim: it parses, asks `dbcheck_core::guard` to load
//! the schema (cached per crate root and overrides, revalidated by file times and sizes at most
//! once a second) and to check the struct, and turns every mismatch into a compile error at its
//! span. The struct is emitted unchanged except for the `#[column]` helper attributes. See
//! `docs/schema-guard.md`.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use dbcheck_core::guard::{
    GuardSchema, GuardedStruct, MANIFEST_DIR_ENV, SchemaSource, check, fingerprint, load_schema,
};
use proc_macro2::{Span, TokenStream};
use quote::quote;

/// Check a struct against a table of the schema the migrations produce.
///
/// ```ignore
/// #[dbcheck::schema_guard(table = "ads")]
/// struct Ad {
///     id: i64,
///     title: String,
///     #[column("slug")]
///     handle: Option<String>,
/// }
/// ```
///
/// Options: `table = "..."` (required), `schema = "..."`, `exhaustive`, `insertable`,
/// `migrations = "..."` (relative to the crate root), `dialect = "postgres" | "sqlite" | "mysql"`.
/// Field attributes: `#[column("name")]`, `#[column(name = "...", sql_type = "...", skip)]`;
/// `#[sqlx(rename/skip/flatten/json/try_from)]`, `#[diesel(column_name = ...)]` and
/// `#[serde(rename = "...")]` are honoured.
#[proc_macro_attribute]
pub fn schema_guard(args: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let item2 = TokenStream::from(item);
    match syn::parse2::<syn::DeriveInput>(item2.clone()) {
        Ok(input) => expand(args.into(), input).into(),
        Err(e) => {
            let error = e.to_compile_error();
            quote!(#item2 #error).into()
        }
    }
}

/// The loaded schemas of this compiler process, by source, with when their files were last
/// compared with the disk.
type Cache = Mutex<HashMap<SchemaSource, (Arc<GuardSchema>, Instant)>>;

/// How long a schema is reused without looking at its files again. The structs of one crate are
/// expanded within this window, so they share one load and one look at the disk; a long-lived
/// process (rust-analyzer's proc-macro server) sees edits after it.
const FRESH: Duration = Duration::from_secs(1);

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// Sources whose files this compiler process already made the compiler track.
fn tracked() -> &'static Mutex<HashSet<SchemaSource>> {
    static TRACKED: OnceLock<Mutex<HashSet<SchemaSource>>> = OnceLock::new();
    TRACKED.get_or_init(Mutex::default)
}

/// The schema of `source`: the cached one while its files' times and sizes are unchanged.
fn schema_for(source: &SchemaSource) -> Result<Arc<GuardSchema>, String> {
    let hit = cache().lock().ok().and_then(|map| map.get(source).cloned());
    if let Some((schema, checked)) = &hit
        && checked.elapsed() < FRESH
    {
        return Ok(Arc::clone(schema));
    }
    let current = fingerprint(source).map_err(|e| e.to_string())?;
    let schema = match hit {
        Some((schema, _)) if schema.fingerprint == current => schema,
        _ => Arc::new(load_schema(source).map_err(|e| e.to_string())?),
    };
    if let Ok(mut map) = cache().lock() {
        map.insert(source.clone(), (Arc::clone(&schema), Instant::now()));
    }
    Ok(schema)
}

fn expand(args: TokenStream, mut input: syn::DeriveInput) -> TokenStream {
    let parsed = GuardedStruct::from_derive(&input, args);
    dbcheck_core::guard::strip_helper_attributes(&mut input);
    let g = match parsed {
        Ok(g) => g,
        Err(errors) => return with_errors(&input, errors, TokenStream::new()),
    };
    let root = std::env::var_os(MANIFEST_DIR_ENV)
        .filter(|v| !v.is_empty())
        .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"))
        .map(PathBuf::from);
    let Some(root) = root else {
        let e = syn::Error::new(Span::call_site(), "#[schema_guard] needs CARGO_MANIFEST_DIR (build with cargo)");
        return with_errors(&input, vec![e], TokenStream::new());
    };
    let source = SchemaSource {
        root,
        migrations: g.options.migrations.as_ref().map(|m| m.0.clone()),
        dialect: g.options.dialect.map(|d| d.0),
    };
    let schema = match schema_for(&source) {
        Ok(s) => s,
        Err(message) => {
            let span = g.options.migrations.as_ref().map_or(g.table_span, |m| m.1);
            let e = syn::Error::new(span, format!("#[schema_guard] cannot load the schema: {message}"));
            return with_errors(&input, vec![e], TokenStream::new());
        }
    };
    // Each file the schema came from is included once per compiler process, so that editing a
    // migration or the configuration recompiles this crate.
    let first = tracked().lock().map(|mut t| t.insert(source.clone())).unwrap_or(true);
    let tracking = if first {
        let files = schema.files.iter().filter_map(|p| p.to_str());
        quote!(const _: () = { #(const _: &[u8] = include_bytes!(#files);)* };)
    } else {
        TokenStream::new()
    };
    let errors = check(&g, &schema.schema, schema.dialect).iter().map(|m| m.to_syn_error()).collect();
    with_errors(&input, errors, tracking)
}

/// The struct (helper attributes removed), the tracking constants and every error, combined.
fn with_errors(input: &syn::DeriveInput, errors: Vec<syn::Error>, tracking: TokenStream) -> TokenStream {
    let combined = errors.into_iter().reduce(|mut a, b| {
        a.combine(b);
        a
    });
    let errors = combined.map(|e| e.to_compile_error());
    quote!(#input #tracking #errors)
}
