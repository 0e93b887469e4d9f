//! Guarded structs as a declared schema: a struct marked `exhaustive` lists every column of its
//! table, so `migrate new` can write the migration that makes the migrations agree with it — the
//! table created when it is missing, columns added or (commented out, destructive) dropped.

use crate::db::Dialect;
use crate::schema::{Column, PrimaryKey, Schema, Table, normalize_type, qualified_name};

use super::model::GuardedStruct;
use super::types::{RustKind, field_type};

/// The SQL type a Rust kind is written as in `dialect`, or `None` when it has no natural one
/// (an unknown type without `#[column(sql_type = "…")]`).
pub fn sql_type_for(dialect: Dialect, kind: &RustKind) -> Option<String> {
    let pg = dialect == Dialect::Postgres;
    let my = dialect == Dialect::Mysql;
    Some(
        match kind {
            RustKind::Int(bits, signed) => match (bits, signed, dialect) {
                (_, _, Dialect::Sqlite) => "integer",
                (8, true, Dialect::Mysql) => "tinyint",
                (16, false, Dialect::Postgres) | (32, true, _) => "integer",
                (8 | 16, _, _) => "smallint",
                (32, false, Dialect::Mysql) => "int unsigned",
                (64, false, Dialect::Mysql) => "bigint unsigned",
                _ => "bigint",
            },
            RustKind::Bool => {
                if my {
                    "tinyint(1)"
                } else {
                    "boolean"
                }
            }
            RustKind::Float(32) => "real",
            RustKind::Float(_) => {
                if my {
                    "double"
                } else {
                    "double precision"
                }
            }
            RustKind::Decimal => "numeric",
            RustKind::Text => "text",
            RustKind::Bytes => match dialect {
                Dialect::Postgres => "bytea",
                _ => "blob",
            },
            RustKind::Date => "date",
            RustKind::Time => "time",
            RustKind::Timestamp => {
                if my {
                    "datetime"
                } else {
                    "timestamp"
                }
            }
            RustKind::TimestampTz => match dialect {
                Dialect::Postgres => "timestamptz",
                Dialect::Mysql => "timestamp",
                Dialect::Sqlite => "text",
            },
            RustKind::Uuid => {
                if pg {
                    "uuid"
                } else if my {
                    "char(36)"
                } else {
                    "text"
                }
            }
            RustKind::Json => match dialect {
                Dialect::Postgres => "jsonb",
                Dialect::Mysql => "json",
                Dialect::Sqlite => "text",
            },
            RustKind::Interval if pg => "interval",
            RustKind::Inet if pg => "inet",
            RustKind::Array(inner) if pg => return sql_type_for(dialect, inner).map(|t| format!("{t}[]")),
            _ => return None,
        }
        .to_owned(),
    )
}

/// `base` (the migrations' schema) with every `exhaustive` struct's table as the struct declares
/// it: a missing table is created (a field named `id` is its primary key), an existing one keeps
/// its columns' definitions, gains the fields it lacks and loses the columns no field names.
/// Returns the schema and, per struct, why it was left out (not exhaustive, a type with no SQL
/// form).
pub fn declared_schema(structs: &[&GuardedStruct], base: &Schema, dialect: Dialect) -> (Schema, Vec<String>) {
    let mut out = base.clone();
    let mut skipped = Vec::new();
    for g in structs {
        if g.options.exhaustive.is_none() {
            skipped.push(format!("struct {} is not `exhaustive`: it does not define all of {}", g.name, g.table));
            continue;
        }
        let key = qualified_name(g.schema.as_deref(), &g.table);
        let existing = out.tables.get(&key).cloned();
        let mut table = existing.clone().unwrap_or_else(|| Table::new(g.schema.clone(), g.table.clone()));
        let mut columns = Vec::new();
        let mut untyped = Vec::new();
        for f in &g.fields {
            let ft = field_type(&f.ty);
            let kept = existing.as_ref().and_then(|t| t.columns.iter().find(|c| c.name == f.column)).cloned();
            if let Some(mut c) = kept {
                c.nullable = ft.optional && !existing_pk(&table, &f.column);
                columns.push(c);
                continue;
            }
            let sql = match &f.sql_type {
                Some((sql, _)) => Some(sql.clone()),
                None if f.json => sql_type_for(dialect, &RustKind::Json),
                None => sql_type_for(dialect, &ft.kind),
            };
            let Some(sql) = sql else {
                untyped.push(f.ident.clone());
                continue;
            };
            let mut c = Column::new(f.column.clone(), normalize_type(dialect, &sql));
            c.nullable = ft.optional;
            columns.push(c);
        }
        if !untyped.is_empty() {
            skipped.push(format!(
                "struct {}: field(s) {} have no SQL type to declare (add #[column(sql_type = \"…\")])",
                g.name,
                untyped.join(", ")
            ));
            continue;
        }
        if existing.is_none() && table.primary_key.is_none() && columns.iter().any(|c| c.name == "id") {
            table.primary_key = Some(PrimaryKey { name: None, columns: vec!["id".to_owned()] });
            for c in columns.iter_mut().filter(|c| c.name == "id") {
                c.nullable = false;
            }
        }
        table.columns = columns;
        out.tables.insert(key, table);
    }
    (out, skipped)
}

fn existing_pk(table: &Table, column: &str) -> bool {
    table.primary_key.as_ref().is_some_and(|pk| pk.columns.iter().any(|c| c == column))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::GuardedStruct;

    fn guarded(src: &str) -> GuardedStruct {
        let input: syn::DeriveInput = syn::parse_str(src).unwrap();
        let attr = input.attrs.iter().find(|a| a.path().is_ident("schema_guard")).unwrap();
        let args = match &attr.meta {
            syn::Meta::List(l) => l.tokens.clone(),
            _ => panic!("no args"),
        };
        GuardedStruct::from_derive(&input, args).unwrap_or_else(|e| panic!("{}", e.len()))
    }

    #[test]
    fn an_exhaustive_struct_creates_its_missing_table_with_typed_nullable_columns() {
        let g = guarded(
            "#[schema_guard(table = \"ads\", exhaustive)] struct Ad { id: i64, title: String, \
             slug: Option<String>, price: rust_decimal::Decimal, created_at: chrono::DateTime<chrono::Utc> }",
        );
        let (schema, skipped) = declared_schema(&[&g], &Schema::empty(Dialect::Postgres), Dialect::Postgres);
        assert!(skipped.is_empty(), "{skipped:?}");
        let t = &schema.tables["ads"];
        let cols: Vec<(&str, &str, bool)> =
            t.columns.iter().map(|c| (c.name.as_str(), c.data_type.as_str(), c.nullable)).collect();
        assert_eq!(
            cols,
            [
                ("id", "bigint", false),
                ("title", "text", false),
                ("slug", "text", true),
                ("price", "numeric", false),
                ("created_at", "timestamptz", false)
            ]
        );
        assert_eq!(t.primary_key.as_ref().map(|p| p.columns.clone()), Some(vec!["id".to_owned()]));
    }

    #[test]
    fn an_existing_table_keeps_its_columns_gains_fields_and_loses_the_rest() {
        let mut base = Schema::empty(Dialect::Postgres);
        let mut t = Table::new(None, "ads");
        let mut id = Column::new("id", "integer");
        id.nullable = false;
        t.columns = vec![id, Column::new("title", "varchar(200)"), Column::new("legacy", "text")];
        base.tables.insert("ads".into(), t);
        let g = guarded(
            "#[schema_guard(table = \"ads\", exhaustive)] struct Ad { id: i32, title: Option<String>, views: i64 }",
        );
        let (schema, _) = declared_schema(&[&g], &base, Dialect::Postgres);
        let names: Vec<(&str, &str)> =
            schema.tables["ads"].columns.iter().map(|c| (c.name.as_str(), c.data_type.as_str())).collect();
        assert_eq!(names, [("id", "integer"), ("title", "varchar(200)"), ("views", "bigint")]);
        let plain = guarded("#[schema_guard(table = \"ads\")] struct Ad { id: i32 }");
        let (same, skipped) = declared_schema(&[&plain], &base, Dialect::Postgres);
        assert_eq!(same.tables["ads"].columns.len(), 3);
        assert_eq!(skipped.len(), 1);
    }
}
