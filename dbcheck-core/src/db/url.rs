//! Database URLs: which dialect they name, and their redacted form (passwords never leave here).

use std::fmt;

use url::Url;

use super::DbError;

/// The SQL dialects dbcheck talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
    /// MySQL and MariaDB.
    Mysql,
}

impl Dialect {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
            Dialect::Mysql => "mysql",
        }
    }

    /// Quote an identifier for this dialect.
    pub fn quote_ident(self, ident: &str) -> String {
        match self {
            Dialect::Mysql => format!("`{}`", ident.replace('`', "``")),
            Dialect::Postgres | Dialect::Sqlite => format!("\"{}\"", ident.replace('"', "\"\"")),
        }
    }

    /// Quote a string literal for this dialect.
    pub fn quote_literal(self, value: &str) -> String {
        match self {
            Dialect::Mysql => format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''")),
            Dialect::Postgres | Dialect::Sqlite => format!("'{}'", value.replace('\'', "''")),
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A database URL. `Display` and `Debug` show it with the password replaced by `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    dialect: Dialect,
}

impl DatabaseUrl {
    /// Parse a `postgres://`, `postgresql://`, `sqlite:` or `mysql://`/`mariadb://` URL.
    pub fn parse(raw: &str) -> Result<Self, DbError> {
        let raw = raw.trim();
        let scheme = raw.split_once(':').map(|(s, _)| s.to_ascii_lowercase()).unwrap_or_default();
        let dialect = match scheme.as_str() {
            "postgres" | "postgresql" => Dialect::Postgres,
            "sqlite" => Dialect::Sqlite,
            "mysql" | "mariadb" => Dialect::Mysql,
            _ => {
                return Err(DbError::InvalidUrl {
                    url: redact_url(raw),
                    reason: "expected a URL starting with postgres://, sqlite: or mysql://".into(),
                });
            }
        };
        if dialect != Dialect::Sqlite {
            Url::parse(raw).map_err(|e| DbError::InvalidUrl { url: redact_url(raw), reason: e.to_string() })?;
        }
        // sqlx has no `mariadb` scheme; MariaDB speaks the MySQL protocol.
        let raw = if scheme == "mariadb" { format!("mysql{}", &raw["mariadb".len()..]) } else { raw.to_owned() };
        Ok(DatabaseUrl { raw, dialect })
    }

    /// The dialect the URL names.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The URL with its password, for handing to a driver. Never print it.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The URL with the password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(&self.raw)
    }

    /// The password, if the URL has one (used to scrub driver messages).
    pub(crate) fn password(&self) -> Option<String> {
        let url = Url::parse(&self.raw).ok()?;
        url.password()
            .map(str::to_owned)
            .or_else(|| url.query_pairs().find(|(k, _)| k == "password").map(|(_, v)| v.into_owned()))
    }

    /// Remove every occurrence of the password (raw and percent-decoded) from `message`.
    pub fn scrub(&self, message: &str) -> String {
        let mut out = message.replace(&self.raw, &self.redacted());
        if let Some(p) = self.password().filter(|p| !p.is_empty()) {
            out = out.replace(&p, "***");
            let decoded = percent_encoding::percent_decode_str(&p).decode_utf8_lossy().into_owned();
            if !decoded.is_empty() {
                out = out.replace(&decoded, "***");
            }
        }
        out
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseUrl").field("url", &self.redacted()).finish()
    }
}

/// Replace the password of any URL-looking string with `***` (also a `password=` query parameter).
/// Strings that do not parse as URLs are returned with everything between `:` and `@` of the
/// authority masked, so a malformed URL cannot leak either.
pub fn redact_url(raw: &str) -> String {
    if let Ok(mut url) = Url::parse(raw) {
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        if url.query_pairs().any(|(k, _)| k == "password") {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "password" { "***".to_owned() } else { v.into_owned() };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        return url.to_string();
    }
    // Not parseable: mask `user:secret@` by hand.
    match (raw.find("://"), raw.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => {
            let auth = &raw[s + 3..at];
            match auth.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &raw[..s + 3], user, &raw[at..]),
                None => raw.to_owned(),
            }
        }
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_passwords_everywhere() {
        assert_eq!(redact_url("postgres://app:s3cr%40t@db:5432/x"), "postgres://app:***@db:5432/x");
        assert_eq!(redact_url("mysql://root@h/x"), "mysql://root@h/x");
        assert!(!redact_url("postgres://h/x?user=a&password=hunter2").contains("hunter2"));
        assert!(!redact_url("postgres://u:hunter2@[bad/x").contains("hunter2"));
        let url = DatabaseUrl::parse("postgres://app:s3cr%40t@db/x").unwrap();
        assert_eq!(url.to_string(), "postgres://app:***@db/x");
        assert!(!format!("{url:?}").contains("s3cr"));
        let msg = url.scrub("failed for postgres://app:s3cr%40t@db/x: password s3cr@t rejected");
        assert!(!msg.contains("s3cr"), "{msg}");
    }

    #[test]
    fn schemes_pick_the_dialect() {
        assert_eq!(DatabaseUrl::parse("postgresql://h/d").unwrap().dialect(), Dialect::Postgres);
        assert_eq!(DatabaseUrl::parse("sqlite:app.db").unwrap().dialect(), Dialect::Sqlite);
        let maria = DatabaseUrl::parse("mariadb://root@h/d").unwrap();
        assert_eq!(maria.dialect(), Dialect::Mysql);
        assert!(maria.expose().starts_with("mysql://"));
        assert!(matches!(DatabaseUrl::parse("oracle://h"), Err(DbError::InvalidUrl { .. })));
    }

    #[test]
    fn identifiers_and_literals_are_quoted_per_dialect() {
        assert_eq!(Dialect::Postgres.quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Mysql.quote_ident("a`b"), "`a``b`");
        assert_eq!(Dialect::Mysql.quote_literal("it's\\"), "'it''s\\\\'");
        assert_eq!(Dialect::Sqlite.quote_literal("it's"), "'it''s'");
    }
}
