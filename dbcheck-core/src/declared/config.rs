//! The `[declared]` configuration keys, and `diesel.toml`'s `[print_schema]` sections (file,
//! `filter.only_tables`/`except_tables`, `schema`) read the way diesel CLI reads them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Coverage, DeclaredError};

/// `[declared]`: where the declared sources are. Every key is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeclaredConfig {
    /// A diesel `schema.rs` (default: every `[print_schema]` `file` of `diesel.toml`).
    pub diesel_schema: Option<PathBuf>,
    /// diesel's configuration file (default `diesel.toml` beside the package's `Cargo.toml`).
    pub diesel_toml: Option<PathBuf>,
    /// A declarative `schema.sql`: `CREATE TABLE` statements for the schema the migrations must
    /// produce (none by default).
    pub schema_sql: Option<PathBuf>,
}

/// `[declared]` with paths made absolute; `None` means the default.
#[derive(Debug, Clone, Default)]
pub struct DeclaredSettings {
    /// `diesel_schema`.
    pub diesel_schema: Option<PathBuf>,
    /// `diesel_toml`.
    pub diesel_toml: Option<PathBuf>,
    /// `schema_sql`.
    pub schema_sql: Option<PathBuf>,
}

impl DeclaredSettings {
    /// Apply one configuration layer on top, paths resolved against `base`; `Err((key, reason))`
    /// names a bad value.
    pub fn apply(&mut self, c: &DeclaredConfig, base: &Path) -> Result<(), (&'static str, String)> {
        let path = |p: &PathBuf, key: &'static str| {
            if p.as_os_str().is_empty() { Err((key, "must not be empty".to_owned())) } else { Ok(base.join(p)) }
        };
        if let Some(p) = &c.diesel_schema {
            self.diesel_schema = Some(path(p, "declared.diesel_schema")?);
        }
        if let Some(p) = &c.diesel_toml {
            self.diesel_toml = Some(path(p, "declared.diesel_toml")?);
        }
        if let Some(p) = &c.schema_sql {
            self.schema_sql = Some(path(p, "declared.schema_sql")?);
        }
        Ok(())
    }

    /// `diesel.toml`'s path for the project at `root`.
    pub fn diesel_toml_path(&self, root: &Path) -> PathBuf {
        self.diesel_toml.clone().unwrap_or_else(|| root.join("diesel.toml"))
    }

    /// The diesel `schema.rs` files to check, each with what it covers.
    pub fn diesel_sources(&self, root: &Path) -> Result<Vec<DieselSource>, DeclaredError> {
        let toml = self.diesel_toml_path(root);
        let configs = read_diesel_toml(&toml)?;
        if let Some(file) = &self.diesel_schema {
            // An explicit file keeps the filters of the `[print_schema]` section that writes it.
            let same = |c: &&DieselSource| c.file == *file || same_file(&c.file, file);
            let found = configs.iter().find(same).cloned();
            return Ok(vec![found.unwrap_or_else(|| DieselSource::plain(file.clone()))]);
        }
        Ok(configs)
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// One `schema.rs` and the `[print_schema]` settings that shape it.
#[derive(Debug, Clone)]
pub struct DieselSource {
    /// The `schema.rs` file.
    pub file: PathBuf,
    /// The tables print-schema writes into it.
    pub coverage: Coverage,
}

impl DieselSource {
    /// A file with diesel's defaults: every table of the default namespace.
    pub fn plain(file: PathBuf) -> Self {
        DieselSource {
            file,
            coverage: Coverage { namespaces: vec![None], needs_primary_key: true, ..Coverage::default() },
        }
    }
}

#[derive(Deserialize, Default)]
struct DieselToml {
    #[serde(default)]
    print_schema: Option<toml::Table>,
}

#[derive(Deserialize, Default)]
struct PrintSchema {
    #[serde(default)]
    file: Option<PathBuf>,
    #[serde(default)]
    filter: Option<Filter>,
    #[serde(default)]
    schema: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Filter {
    #[serde(default)]
    only_tables: Option<Vec<String>>,
    #[serde(default)]
    except_tables: Option<Vec<String>>,
}

/// The keys of a `[print_schema]` section (any of them means the section is one configuration,
/// not a table of named ones).
const PRINT_SCHEMA_KEYS: &[&str] = &[
    "file",
    "with_docs",
    "allow_tables_to_appear_in_same_query_config",
    "filter",
    "column_sorting",
    "schema",
    "patch_file",
    "import_types",
    "generate_missing_sql_type_definitions",
    "except_custom_type_definitions",
    "custom_type_derives",
    "sqlite_integer_primary_key_is_bigint",
    "pg_domains_as_custom_types",
];

/// Every `[print_schema]` (or `[print_schema.<name>]`) section of `path` that names a `file`;
/// none when the file does not exist.
pub fn read_diesel_toml(path: &Path) -> Result<Vec<DieselSource>, DeclaredError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(DeclaredError::Read { path: path.to_path_buf(), source }),
    };
    let invalid = |message: String| DeclaredError::DieselToml { path: path.to_path_buf(), message };
    let parsed: DieselToml = toml::from_str(&text).map_err(|e| invalid(e.to_string().trim_end().to_owned()))?;
    let Some(section) = parsed.print_schema else { return Ok(Vec::new()) };
    let base = path.parent().unwrap_or(Path::new("."));
    let sections: Vec<toml::Table> = if section.keys().any(|k| PRINT_SCHEMA_KEYS.contains(&k.as_str())) {
        vec![section]
    } else {
        section.into_iter().filter_map(|(_, v)| v.as_table().cloned()).collect()
    };
    let mut out = Vec::new();
    for s in sections {
        let ps: PrintSchema = toml::Value::Table(s)
            .try_into()
            .map_err(|e: toml::de::Error| invalid(e.to_string().trim_end().to_owned()))?;
        let Some(file) = ps.file else { continue };
        let regexes = |list: Option<Vec<String>>| -> Result<Vec<regex::Regex>, DeclaredError> {
            list.unwrap_or_default()
                .iter()
                .map(|r| regex::Regex::new(r).map_err(|e| invalid(format!("print_schema filter regex {r:?}: {e}"))))
                .collect()
        };
        let filter = ps.filter.unwrap_or_default();
        if filter.only_tables.is_some() && filter.except_tables.is_some() {
            return Err(invalid("print_schema filter: set either only_tables or except_tables, not both".to_owned()));
        }
        out.push(DieselSource {
            file: base.join(file),
            coverage: Coverage {
                namespaces: vec![ps.schema.filter(|s| s != "public")],
                only: regexes(filter.only_tables)?,
                except: regexes(filter.except_tables)?,
                needs_primary_key: true,
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_named_print_schema_sections() {
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("diesel.toml");
        std::fs::write(
            &toml,
            "[print_schema]\nfile = \"src/schema.rs\"\nfilter = { except_tables = [\"^audit_\"] }\n\n[migrations_directory]\ndir = \"migrations\"\n",
        )
        .unwrap();
        let sources = read_diesel_toml(&toml).unwrap();
        assert_eq!(sources.len(), 1);
        assert_eq!(sources[0].file, dir.path().join("src/schema.rs"));
        assert!(sources[0].coverage.except[0].is_match("audit_log"));
        assert!(!sources[0].coverage.except[0].is_match("ads_audit_"));

        std::fs::write(
            &toml,
            "[print_schema.app]\nfile = \"src/app.rs\"\nfilter = { only_tables = [\"ads\"] }\n\n[print_schema.billing]\nfile = \"src/billing.rs\"\nschema = \"billing\"\n",
        )
        .unwrap();
        let sources = read_diesel_toml(&toml).unwrap();
        assert_eq!(sources.len(), 2);
        let billing = sources.iter().find(|s| s.file.ends_with("billing.rs")).unwrap();
        assert_eq!(billing.coverage.namespaces, vec![Some("billing".to_owned())]);
        let app = sources.iter().find(|s| s.file.ends_with("app.rs")).unwrap();
        assert_eq!(app.coverage.only.len(), 1);
    }

    #[test]
    fn both_filters_or_a_bad_regex_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("diesel.toml");
        std::fs::write(&toml, "[print_schema]\nfile = \"s.rs\"\nfilter = { only_tables = [\"(\"] }\n").unwrap();
        assert!(matches!(read_diesel_toml(&toml), Err(DeclaredError::DieselToml { .. })));
        std::fs::write(
            &toml,
            "[print_schema]\nfile = \"s.rs\"\nfilter = { only_tables = [\"a\"], except_tables = [\"b\"] }\n",
        )
        .unwrap();
        assert!(matches!(read_diesel_toml(&toml), Err(DeclaredError::DieselToml { .. })));
    }

    #[test]
    fn missing_diesel_toml_means_no_source() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_diesel_toml(&dir.path().join("diesel.toml")).unwrap().is_empty());
        let settings = DeclaredSettings::default();
        assert!(settings.diesel_sources(dir.path()).unwrap().is_empty());
    }
}
