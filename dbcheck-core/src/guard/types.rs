//! Type compatibility: what a field's Rust type (read from its syntax) can hold, what a column's
//! normalized SQL type is per dialect, and whether the two fit. SQLite follows its type-affinity
//! rules on the declared type, with the declared names sqlx and diesel give meaning to (`boolean`,
//! `date`, `datetime`, `json`, `uuid`, …) narrowed to the Rust types they decode into.

use quote::ToTokens;

use crate::db::Dialect;
use crate::schema::{Schema, normalize_type};

/// What a Rust type holds, as far as SQL is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RustKind {
    /// `i8` … `i64`, `u8` … `u64` (bits, signed).
    Int(u8, bool),
    /// `bool`.
    Bool,
    /// `f32` (32) or `f64` (64).
    Float(u8),
    /// `rust_decimal::Decimal` or `bigdecimal::BigDecimal`.
    Decimal,
    /// `String`, `str`, `Box<str>`, `Cow<str>`.
    Text,
    /// `Vec<u8>`, `[u8]`, `[u8; N]`.
    Bytes,
    /// `chrono::NaiveDate`, `time::Date`.
    Date,
    /// `chrono::NaiveTime`, `time::Time`.
    Time,
    /// `chrono::NaiveDateTime`, `time::PrimitiveDateTime`.
    Timestamp,
    /// `chrono::DateTime<Tz>`, `time::OffsetDateTime`.
    TimestampTz,
    /// `uuid::Uuid` (and its `Hyphenated`/`Simple` text forms).
    Uuid,
    /// `serde_json::Value`, `JsonValue`, `Json<T>`, `Box<RawValue>`.
    Json,
    /// sqlx's `PgInterval`.
    Interval,
    /// `IpNetwork`, `IpAddr`, `Ipv4Addr`, `Ipv6Addr`.
    Inet,
    /// `Vec<T>` (T not `u8`): an array.
    Array(Box<RustKind>),
    /// A type this module does not know (a newtype, an enum): needs `#[column(sql_type = "…")]`.
    Unknown,
}

/// A field type split into its nullability and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldType {
    /// The type is `Option<T>`.
    pub optional: bool,
    /// What `T` (or the type itself) holds.
    pub kind: RustKind,
    /// `T` as written, for messages.
    pub inner: String,
}

/// The last path segment of `ty` with its generic type arguments, looking through references,
/// parentheses and groups.
fn segment(ty: &syn::Type) -> Option<(String, Vec<&syn::Type>)> {
    match ty {
        syn::Type::Reference(r) => segment(&r.elem),
        syn::Type::Paren(p) => segment(&p.elem),
        syn::Type::Group(g) => segment(&g.elem),
        syn::Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            let args = match &last.arguments {
                syn::PathArguments::AngleBracketed(a) => a
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        syn::GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Some((last.ident.to_string(), args))
        }
        _ => None,
    }
}

fn is_u8(ty: &syn::Type) -> bool {
    segment(ty).is_some_and(|(name, args)| name == "u8" && args.is_empty())
}

/// `ty` as source text with the spaces `to_token_stream` puts around punctuation removed.
pub fn type_text(ty: &syn::Type) -> String {
    let raw = ty.to_token_stream().to_string();
    let mut out = raw.replace(" :: ", "::").replace(":: ", "::").replace(" <", "<").replace("< ", "<");
    out = out.replace(" >", ">").replace(" ,", ",").replace("& ", "&").replace(" ;", ";").replace("[ ", "[");
    out.replace(" ]", "]").replace("' ", "'")
}

/// Split `ty` into nullability and kind.
pub fn field_type(ty: &syn::Type) -> FieldType {
    if let Some((name, args)) = segment(ty)
        && name == "Option"
        && let [inner] = args.as_slice()
    {
        return FieldType { optional: true, kind: rust_kind(inner), inner: type_text(inner) };
    }
    FieldType { optional: false, kind: rust_kind(ty), inner: type_text(ty) }
}

/// What `ty` holds (an `Option` inside, as in `Vec<Option<T>>`, holds what `T` holds).
pub fn rust_kind(ty: &syn::Type) -> RustKind {
    match ty {
        syn::Type::Slice(s) if is_u8(&s.elem) => return RustKind::Bytes,
        syn::Type::Array(a) if is_u8(&a.elem) => return RustKind::Bytes,
        syn::Type::Reference(r) => return rust_kind(&r.elem),
        _ => {}
    }
    let Some((name, args)) = segment(ty) else { return RustKind::Unknown };
    match (name.as_str(), args.as_slice()) {
        ("i8", []) => RustKind::Int(8, true),
        ("i16", []) => RustKind::Int(16, true),
        ("i32", []) => RustKind::Int(32, true),
        ("i64", []) => RustKind::Int(64, true),
        ("u8", []) => RustKind::Int(8, false),
        ("u16", []) => RustKind::Int(16, false),
        ("u32", []) => RustKind::Int(32, false),
        ("u64", []) => RustKind::Int(64, false),
        ("bool", []) => RustKind::Bool,
        ("f32", []) => RustKind::Float(32),
        ("f64", []) => RustKind::Float(64),
        ("Decimal" | "BigDecimal", []) => RustKind::Decimal,
        ("String" | "str", []) => RustKind::Text,
        ("NaiveDate" | "Date", []) => RustKind::Date,
        ("NaiveTime" | "Time", []) => RustKind::Time,
        ("NaiveDateTime" | "PrimitiveDateTime", []) => RustKind::Timestamp,
        ("DateTime", [_]) | ("OffsetDateTime", []) => RustKind::TimestampTz,
        ("Uuid" | "Hyphenated" | "Simple", []) => RustKind::Uuid,
        ("Value" | "JsonValue", []) | ("Json", [_]) => RustKind::Json,
        ("PgInterval", []) => RustKind::Interval,
        ("IpNetwork" | "IpAddr" | "Ipv4Addr" | "Ipv6Addr" | "IpInet" | "IpCidr", []) => RustKind::Inet,
        ("Box", [inner]) if segment(inner).is_some_and(|(n, _)| n == "RawValue") => RustKind::Json,
        ("Box" | "Cow" | "Arc" | "Rc", [inner]) => rust_kind(inner),
        ("Vec", [inner]) if is_u8(inner) => RustKind::Bytes,
        ("Vec", [inner]) => {
            let element = match segment(inner) {
                Some((n, a)) if n == "Option" && a.len() == 1 => rust_kind(a[0]),
                _ => rust_kind(inner),
            };
            RustKind::Array(Box::new(element))
        }
        _ => RustKind::Unknown,
    }
}

/// `data_type` without a parenthesized modifier: `varchar(20)` → `varchar`, `timestamptz(3)` →
/// `timestamptz`, `numeric(10,2)[]` → `numeric[]`.
pub fn base_type(data_type: &str) -> String {
    match (data_type.find('('), data_type.find(')')) {
        (Some(open), Some(close)) if close > open => {
            format!("{}{}", data_type[..open].trim_end(), &data_type[close + 1..]).trim().to_owned()
        }
        _ => data_type.trim().to_owned(),
    }
}

/// The SQLite affinity of a declared type (<https://sqlite.org/datatype3.html#determination_of_column_affinity>).
fn sqlite_affinity(declared: &str) -> &'static str {
    let t = declared.to_ascii_lowercase();
    if t.contains("int") {
        "integer"
    } else if t.contains("char") || t.contains("clob") || t.contains("text") {
        "text"
    } else if t.is_empty() || t.contains("blob") {
        "blob"
    } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
        "real"
    } else {
        "numeric"
    }
}

/// Whether a value of `kind` can be read from and written to a column of normalized type
/// `data_type` in `dialect` (an enum type fits no Rust type: enums need `sql_type`).
pub fn compatible(dialect: Dialect, data_type: &str, kind: &RustKind) -> bool {
    use RustKind as K;
    if matches!(kind, K::Unknown) {
        return false;
    }
    let base = base_type(data_type);
    match dialect {
        Dialect::Postgres => {
            if let Some(element) = base.strip_suffix("[]") {
                return match kind {
                    K::Array(inner) => compatible(dialect, element, inner),
                    _ => false,
                };
            }
            matches!(
                (base.as_str(), kind),
                ("smallint", K::Int(16, true))
                    | ("integer", K::Int(32, true))
                    | ("bigint", K::Int(64, true))
                    | ("\"char\"", K::Int(8, true))
                    | ("oid", K::Int(32, false))
                    | ("boolean", K::Bool)
                    | ("real", K::Float(32))
                    | ("double precision", K::Float(64))
                    | ("numeric", K::Decimal)
                    | ("text" | "varchar" | "char" | "citext" | "name", K::Text)
                    | ("bytea", K::Bytes)
                    | ("date", K::Date)
                    | ("time", K::Time)
                    | ("timestamp", K::Timestamp)
                    | ("timestamptz", K::TimestampTz)
                    | ("uuid", K::Uuid)
                    | ("json" | "jsonb", K::Json)
                    | ("interval", K::Interval)
                    | ("inet" | "cidr", K::Inet)
            )
        }
        Dialect::Mysql => {
            let unsigned = base.ends_with(" unsigned");
            let name = base.trim_end_matches(" unsigned");
            match (name, kind) {
                ("tinyint", K::Int(8, signed))
                | ("smallint", K::Int(16, signed))
                | ("integer", K::Int(32, signed))
                | ("bigint", K::Int(64, signed)) => *signed != unsigned,
                ("boolean", K::Bool)
                | ("real", K::Float(32))
                | ("double precision", K::Float(64))
                | ("numeric", K::Decimal)
                | ("varchar" | "char" | "text" | "tinytext" | "mediumtext" | "longtext" | "enum" | "set", K::Text)
                | ("blob" | "tinyblob" | "mediumblob" | "longblob" | "binary" | "varbinary", K::Bytes)
                | ("date", K::Date)
                | ("time", K::Time)
                | ("datetime", K::Timestamp)
                | ("timestamp", K::TimestampTz | K::Timestamp)
                | ("json", K::Json) => true,
                ("binary", K::Uuid) => data_type == "binary(16)",
                ("char", K::Uuid) => data_type == "char(36)",
                _ => false,
            }
        }
        Dialect::Sqlite => {
            // Declared names that sqlx and diesel give a meaning beyond their affinity.
            match (base.as_str(), kind) {
                ("boolean" | "bool", k) => return matches!(k, K::Bool),
                ("date", k) => return matches!(k, K::Date | K::Text),
                ("time", k) => return matches!(k, K::Time | K::Text),
                ("datetime" | "timestamp", k) => return matches!(k, K::Timestamp | K::TimestampTz | K::Text),
                ("json" | "jsonb", k) => return matches!(k, K::Json | K::Text),
                ("uuid", k) => return matches!(k, K::Uuid | K::Text | K::Bytes),
                _ => {}
            }
            matches!(
                (sqlite_affinity(&base), kind),
                ("integer", K::Int(..) | K::Bool)
                    | ("text", K::Text | K::Date | K::Time | K::Timestamp | K::TimestampTz | K::Uuid | K::Json)
                    | ("blob", K::Bytes | K::Uuid)
                    | ("real", K::Float(_))
                    | ("numeric", K::Decimal | K::Float(_) | K::Int(..))
            )
        }
    }
}

/// Whether `data_type` names an enum of `schema` (PostgreSQL `CREATE TYPE … AS ENUM`, MySQL
/// `enum(…)`).
pub fn is_enum(schema: &Schema, data_type: &str) -> bool {
    let base = data_type.trim_end_matches("[]");
    schema.enums.contains_key(base) || base.starts_with("enum(")
}

/// Whether a field declared `#[column(sql_type = "declared")]` fits a column of `data_type`: the
/// same normalized type, or the same type without its modifier (`varchar` fits `varchar(200)`).
pub fn declared_fits(dialect: Dialect, declared: &str, data_type: &str) -> bool {
    let declared = normalize_type(dialect, declared);
    declared == data_type || base_type(&declared) == base_type(data_type)
}

/// The Rust types that fit a column of `data_type`, for help texts.
pub fn suggestion(dialect: Dialect, schema: &Schema, data_type: &str) -> String {
    let base = base_type(data_type);
    if is_enum(schema, data_type) {
        return format!(
            "a Rust enum with `#[sqlx(type_name = \"{}\")]` (or `String`), and `#[column(sql_type = \"{data_type}\")]` on the field",
            base.trim_end_matches("[]")
        );
    }
    if dialect == Dialect::Postgres
        && let Some(element) = base.strip_suffix("[]")
    {
        return format!("`Vec<T>` where `T` is {}", suggestion(dialect, schema, element));
    }
    let candidates: [(&str, RustKind); 19] = [
        ("i8", RustKind::Int(8, true)),
        ("u8", RustKind::Int(8, false)),
        ("i16", RustKind::Int(16, true)),
        ("u16", RustKind::Int(16, false)),
        ("i32", RustKind::Int(32, true)),
        ("u32", RustKind::Int(32, false)),
        ("i64", RustKind::Int(64, true)),
        ("u64", RustKind::Int(64, false)),
        ("bool", RustKind::Bool),
        ("f32", RustKind::Float(32)),
        ("f64", RustKind::Float(64)),
        ("rust_decimal::Decimal / bigdecimal::BigDecimal", RustKind::Decimal),
        ("String", RustKind::Text),
        ("Vec<u8>", RustKind::Bytes),
        ("chrono::NaiveDate / time::Date", RustKind::Date),
        ("chrono::NaiveTime / time::Time", RustKind::Time),
        ("chrono::NaiveDateTime / time::PrimitiveDateTime", RustKind::Timestamp),
        ("chrono::DateTime<Utc> / time::OffsetDateTime", RustKind::TimestampTz),
        ("uuid::Uuid", RustKind::Uuid),
    ];
    let mut fits: Vec<&str> =
        candidates.iter().filter(|(_, k)| compatible(dialect, data_type, k)).map(|(n, _)| *n).collect();
    for (name, kind) in [
        ("serde_json::Value / Json<T>", RustKind::Json),
        ("PgInterval", RustKind::Interval),
        ("ipnetwork::IpNetwork / std::net::IpAddr", RustKind::Inet),
    ] {
        if compatible(dialect, data_type, &kind) {
            fits.push(name);
        }
    }
    match fits.as_slice() {
        [] => format!("a type that maps to `{data_type}`, marked `#[column(sql_type = \"{data_type}\")]`"),
        [one] => format!("`{one}`"),
        many => many.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(src: &str) -> FieldType {
        field_type(&syn::parse_str::<syn::Type>(src).unwrap())
    }

    #[test]
    fn rust_types_are_read_from_their_syntax() {
        assert_eq!(kind("Option<String>"), FieldType { optional: true, kind: RustKind::Text, inner: "String".into() });
        assert_eq!(kind("std::option::Option<i64>").kind, RustKind::Int(64, true));
        assert_eq!(kind("&'a str").kind, RustKind::Text);
        assert_eq!(kind("Cow<'static, str>").kind, RustKind::Text);
        assert_eq!(kind("Vec<u8>").kind, RustKind::Bytes);
        assert_eq!(kind("Vec<Option<i32>>").kind, RustKind::Array(Box::new(RustKind::Int(32, true))));
        assert_eq!(kind("chrono::DateTime<chrono::Utc>").kind, RustKind::TimestampTz);
        assert_eq!(kind("sqlx::types::Json<Tags>").kind, RustKind::Json);
        assert_eq!(kind("AdId").kind, RustKind::Unknown);
        assert_eq!(kind("Option<chrono::DateTime<Utc>>").inner, "chrono::DateTime<Utc>");
    }

    #[test]
    fn postgres_integers_match_by_width() {
        let s = Schema::empty(Dialect::Postgres);
        assert!(compatible(Dialect::Postgres, "integer", &RustKind::Int(32, true)));
        assert!(!compatible(Dialect::Postgres, "integer", &RustKind::Int(64, true)));
        assert!(compatible(Dialect::Postgres, "varchar(200)", &RustKind::Text));
        assert!(compatible(Dialect::Postgres, "numeric(10,2)", &RustKind::Decimal));
        assert!(!compatible(Dialect::Postgres, "numeric(10,2)", &RustKind::Float(64)));
        assert!(compatible(Dialect::Postgres, "timestamptz(3)", &RustKind::TimestampTz));
        assert!(compatible(Dialect::Postgres, "text[]", &RustKind::Array(Box::new(RustKind::Text))));
        assert!(!compatible(Dialect::Postgres, "text[]", &RustKind::Text));
        assert_eq!(suggestion(Dialect::Postgres, &s, "bigint"), "`i64`");
    }

    #[test]
    fn sqlite_follows_affinity_and_meaningful_names() {
        assert!(compatible(Dialect::Sqlite, "integer", &RustKind::Int(32, true)));
        assert!(compatible(Dialect::Sqlite, "bigint", &RustKind::Bool));
        assert!(compatible(Dialect::Sqlite, "varchar(20)", &RustKind::Uuid));
        assert!(!compatible(Dialect::Sqlite, "text", &RustKind::Int(64, true)));
        assert!(compatible(Dialect::Sqlite, "datetime", &RustKind::TimestampTz));
        assert!(!compatible(Dialect::Sqlite, "datetime", &RustKind::Int(64, true)));
        assert!(compatible(Dialect::Sqlite, "blob", &RustKind::Bytes));
        assert!(compatible(Dialect::Sqlite, "real", &RustKind::Float(64)));
    }

    #[test]
    fn mysql_signedness_matters() {
        assert!(compatible(Dialect::Mysql, "bigint unsigned", &RustKind::Int(64, false)));
        assert!(!compatible(Dialect::Mysql, "bigint unsigned", &RustKind::Int(64, true)));
        assert!(compatible(Dialect::Mysql, "boolean", &RustKind::Bool));
        assert!(declared_fits(Dialect::Mysql, "varchar", "varchar(20)"));
    }
}
