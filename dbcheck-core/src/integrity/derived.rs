//! Rules that need no configuration, read from the introspected schema: constraints left
//! `NOT VALID`, `INVALID` indexes, `*_id` columns that look like references but have no foreign
//! key, and constraints a declared schema has that the database lacks.

use crate::db::Dialect;
use crate::diff::{ObjectKind, Presence, diff_schemas};
use crate::report::{Finding, Location, Severity};
use crate::schema::{Schema, Table};

fn qtable(d: Dialect, t: &Table) -> String {
    match &t.schema {
        Some(s) => format!("{}.{}", d.quote_ident(s), d.quote_ident(&t.name)),
        None => d.quote_ident(&t.name),
    }
}

/// The table a `<prefix>_id` column most likely points at: `prefix`, `prefixs`, `prefixes`,
/// `prefix` with `y` → `ies`, when it has a single-column primary key.
fn referenced_table<'a>(schema: &'a Schema, owner: &Table, prefix: &str) -> Option<&'a Table> {
    let mut names = vec![prefix.to_owned(), format!("{prefix}s"), format!("{prefix}es")];
    if let Some(stem) = prefix.strip_suffix('y') {
        names.push(format!("{stem}ies"));
    }
    names.iter().find_map(|n| {
        schema.tables.values().find(|t| {
            t.name == *n && t.schema == owner.schema && t.primary_key.as_ref().is_some_and(|k| k.columns.len() == 1)
        })
    })
}

/// Every derived finding.
pub(crate) fn findings(
    live: &Schema,
    declared: Option<&Schema>,
    code_not_null_refs: &[crate::declared::CodeRef],
    ignore_missing_fk: &[String],
) -> Vec<Finding> {
    let d = live.dialect;
    let mut out = Vec::new();
    for (key, t) in &live.tables {
        let qt = qtable(d, t);
        for (name, c) in &t.checks {
            if !c.valid {
                out.push(not_valid(d, key, &qt, name, "check constraint"));
            }
        }
        for (name, fk) in &t.foreign_keys {
            if !fk.valid {
                out.push(not_valid(d, key, &qt, name, "foreign key"));
            }
        }
        for (name, ix) in &t.indexes {
            if !ix.valid {
                let qn = match &t.schema {
                    Some(s) => format!("{}.{}", d.quote_ident(s), d.quote_ident(name)),
                    None => d.quote_ident(name),
                };
                let unique = if ix.unique { "unique " } else { "" };
                out.push(
                    Finding::new(
                        "integrity-index-invalid",
                        Severity::Warning,
                        format!(
                            "{unique}index {name} on {key} is INVALID: a concurrent build failed and left it behind"
                        ),
                    )
                    .at(Location::database(format!("{key}.{name}")))
                    .help("fix what made the build fail (for a unique index: the duplicates), then rebuild it")
                    .fix_sql(format!("REINDEX INDEX CONCURRENTLY {qn};\n")),
                );
            }
        }
        // `*_id` columns without a foreign key that covers them.
        for col in &t.columns {
            let Some(prefix) = col.name.strip_suffix("_id") else { continue };
            if prefix.is_empty()
                || ignore_missing_fk.iter().any(|i| *i == format!("{key}.{}", col.name))
                || t.primary_key.as_ref().is_some_and(|k| k.columns == [col.name.clone()])
                || t.foreign_keys.values().any(|fk| fk.columns.first() == Some(&col.name))
            {
                continue;
            }
            let Some(parent) = referenced_table(live, t, prefix) else { continue };
            let Some(pk) = parent.primary_key.as_ref().and_then(|k| k.columns.first()) else { continue };
            let name = crate::db::constraint_name(&[&t.name, &col.name, "fkey"]);
            let (qc, qp, qn) = (d.quote_ident(&col.name), qtable(d, parent), d.quote_ident(&name));
            let fix = match d {
                Dialect::Postgres => format!(
                    "ALTER TABLE {qt} ADD CONSTRAINT {qn} FOREIGN KEY ({qc}) REFERENCES {qp} ({}) NOT VALID;\nALTER TABLE {qt} VALIDATE CONSTRAINT {qn};\n",
                    d.quote_ident(pk)
                ),
                Dialect::Mysql => format!(
                    "ALTER TABLE {qt} ADD CONSTRAINT {qn} FOREIGN KEY ({qc}) REFERENCES {qp} ({});\n",
                    d.quote_ident(pk)
                ),
                Dialect::Sqlite => format!(
                    "-- SQLite cannot add a foreign key to an existing table: rebuild {qt} with\n--   FOREIGN KEY ({qc}) REFERENCES {qp} ({})\n",
                    d.quote_ident(pk)
                ),
            };
            out.push(
                Finding::new(
                    "integrity-foreign-key-missing",
                    Severity::Info,
                    format!("{key}.{} looks like a reference to {}.{pk} but has no foreign key", col.name, parent.name),
                )
                .at(Location::database(format!("{key}.{}", col.name)))
                .help(format!(
                    "check for orphans with a `references` rule, then add the foreign key; if it is not a reference, list \"{key}.{}\" in integrity.ignore_missing_fk",
                    col.name
                ))
                .fix_sql(fix),
            );
        }
    }
    out.extend(code_not_null(live, code_not_null_refs));
    if let Some(declared) = declared {
        for diff in diff_schemas(live, declared) {
            let constraint = diff.kind.is_constraint()
                || (diff.kind == ObjectKind::Index && diff.to.as_deref().is_some_and(|t| t.contains("unique (")));
            if constraint && diff.presence == Presence::OnlyInTo {
                out.push(
                    Finding::new(
                        "integrity-constraint-missing",
                        Severity::Warning,
                        format!(
                            "{} {} is declared in the schema file but missing in the database{}",
                            diff.kind.noun(),
                            diff.object,
                            diff.to.as_deref().map(|t| format!(": {t}")).unwrap_or_default()
                        ),
                    )
                    .at(Location::database(diff.object.clone()))
                    .help("check the data with an integrity rule, then add it with a migration (NOT VALID + VALIDATE on PostgreSQL)"),
                );
            }
        }
    }
    out
}

fn not_valid(d: Dialect, key: &str, qt: &str, name: &str, noun: &str) -> Finding {
    Finding::new(
        "integrity-constraint-not-valid",
        Severity::Warning,
        format!("{noun} {name} on {key} is NOT VALID: existing rows were never checked against it"),
    )
    .at(Location::database(format!("{key}.{name}")))
    .help("repair the rows that violate it, then validate it (this takes no write lock)")
    .fix_sql(format!("ALTER TABLE {qt} VALIDATE CONSTRAINT {};\n", d.quote_ident(name)))
}

/// Columns the code reads as never NULL (guarded structs' plain fields) that the database allows
/// to be NULL: one finding per column, naming every field that reads it.
fn code_not_null(live: &Schema, refs: &[crate::declared::CodeRef]) -> Vec<Finding> {
    let d = live.dialect;
    let mut by_column: std::collections::BTreeMap<(String, String), Vec<&crate::declared::CodeRef>> =
        std::collections::BTreeMap::new();
    for r in refs {
        if let Some(c) = &r.column {
            by_column.entry((r.table.clone(), c.clone())).or_default().push(r);
        }
    }
    let mut out = Vec::new();
    for ((table, column), uses) in by_column {
        let Some(t) = live.tables.get(&table) else { continue };
        let Some(col) = t.columns.iter().find(|c| c.name == column) else { continue };
        // Primary key columns never hold NULL (SQLite's introspection reports them nullable).
        let in_pk = t.primary_key.as_ref().is_some_and(|pk| pk.columns.contains(&column));
        if !col.nullable || in_pk {
            continue;
        }
        let (qt, qc) = (qtable(d, t), d.quote_ident(&column));
        let fix = match d {
            Dialect::Postgres => {
                let check = d.quote_ident(&crate::db::constraint_name(&[&t.name, &column, "not_null"]));
                format!(
                    "-- after backfilling the NULL rows:\nALTER TABLE {qt} ADD CONSTRAINT {check} CHECK ({qc} IS NOT NULL) NOT VALID;\n\
                     -- in a later migration:\nALTER TABLE {qt} VALIDATE CONSTRAINT {check};\nALTER TABLE {qt} ALTER COLUMN {qc} SET NOT NULL;\n\
                     ALTER TABLE {qt} DROP CONSTRAINT {check};\n"
                )
            }
            Dialect::Mysql => {
                format!(
                    "-- after backfilling the NULL rows:\nALTER TABLE {qt} MODIFY {qc} {} NOT NULL;\n",
                    col.data_type
                )
            }
            Dialect::Sqlite => format!("-- SQLite cannot add NOT NULL to a column: rebuild {qt} with {qc} NOT NULL\n"),
        };
        let who: Vec<String> = uses.iter().map(|r| format!("{} ({}:{})", r.item, r.path.display(), r.line)).collect();
        out.push(
            Finding::new(
                "integrity-code-not-null-missing",
                Severity::Warning,
                format!(
                    "{table}.{column} allows NULL in the database, but {} reads it as never NULL",
                    who.join(", ")
                ),
            )
            .at(Location::database(format!("{table}.{column}")))
            .help(format!(
                "a NULL row fails to decode there (the homepage-crash incident): count them with a `not_null` rule on {table}.{column}, backfill, then add the constraint — or make the field `Option<_>`"
            ))
            .fix_sql(fix),
        );
    }
    out
}
