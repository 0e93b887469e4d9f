//! The client tools: PostgreSQL's `pg_dump`/`pg_restore` and MySQL/MariaDB's `mysqldump`/`mysql`
//! matching the server (same major version; for MySQL also the same flavour), and their
//! connection arguments. The password always goes through the environment (`PGPASSWORD`,
//! `MYSQL_PWD`), never argv.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::BackupError;
use crate::db::DatabaseUrl;

/// A located client tool with its major version.
#[derive(Debug, Clone)]
pub struct PgTool {
    /// The executable.
    pub path: PathBuf,
    /// `pg_dump (PostgreSQL) 15.8` → `15.8`.
    pub version: String,
    /// The major version.
    pub major: u32,
}

fn version_of(path: &Path) -> Option<(String, u32)> {
    let out = Command::new(path).arg("--version").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().last()?.to_owned();
    let major = version.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    Some((version, major))
}

/// Find `name` (`pg_dump`, `pg_restore`) for server major version `major`: the configured
/// folder, then `/usr/lib/postgresql/<major>/bin`, then `PATH`. The major versions must match.
pub fn find_pg_tool(name: &str, major: u32, configured: Option<&Path>) -> Result<PgTool, BackupError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = configured {
        candidates.push(dir.join(name));
    }
    candidates.push(PathBuf::from(format!("/usr/lib/postgresql/{major}/bin/{name}")));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join(name)));
    }
    let mut seen = Vec::new();
    for c in candidates.into_iter().filter(|c| c.is_file()) {
        if let Some((version, m)) = version_of(&c) {
            if m == major {
                return Ok(PgTool { path: c, version, major: m });
            }
            seen.push(format!("{} is {version}", c.display()));
        }
    }
    let message = if seen.is_empty() {
        format!("not found for PostgreSQL {major} (looked in /usr/lib/postgresql/{major}/bin and PATH)")
    } else {
        format!("no {name} matches the server's major version {major} ({})", seen.join(", "))
    };
    Err(BackupError::Tool { tool: name.to_owned(), message })
}

/// `url` without its password, and the password (for `PGPASSWORD`).
pub fn libpq_args(url: &DatabaseUrl) -> (String, Option<String>) {
    match url::Url::parse(url.expose()) {
        Ok(mut u) => {
            let password =
                u.password().map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned());
            let _ = u.set_password(None);
            (u.to_string(), password)
        }
        Err(_) => (url.expose().to_owned(), None),
    }
}

/// Run `cmd` to completion; on failure, the tool's stderr (scrubbed) as a [`BackupError::Tool`].
pub fn run_tool(mut cmd: Command, tool: &str, url: &DatabaseUrl) -> Result<(), BackupError> {
    let out = cmd.output().map_err(|e| BackupError::Tool { tool: tool.to_owned(), message: e.to_string() })?;
    check_output(&out, tool, url)
}

/// Turn a finished tool's status into a result.
pub fn check_output(out: &std::process::Output, tool: &str, url: &DatabaseUrl) -> Result<(), BackupError> {
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(BackupError::Tool {
        tool: tool.to_owned(),
        message: format!("failed ({}): {}", out.status, url.scrub(stderr.trim())),
    })
}

/// Which MySQL/MariaDB client program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MysqlProgram {
    /// `mysqldump` / `mariadb-dump`.
    Dump,
    /// `mysql` / `mariadb` (loads a dump).
    Client,
}

impl MysqlProgram {
    /// The name used in messages and `meta/versions.json`.
    pub fn name(self) -> &'static str {
        match self {
            MysqlProgram::Dump => "mysqldump",
            MysqlProgram::Client => "mysql",
        }
    }

    /// Executable names to look for, preferred first.
    fn executables(self, mariadb: bool) -> &'static [&'static str] {
        match (self, mariadb) {
            (MysqlProgram::Dump, true) => &["mariadb-dump", "mysqldump"],
            (MysqlProgram::Dump, false) => &["mysqldump"],
            (MysqlProgram::Client, true) => &["mariadb", "mysql"],
            (MysqlProgram::Client, false) => &["mysql"],
        }
    }
}

/// A located MySQL/MariaDB client program.
#[derive(Debug, Clone)]
pub struct MysqlTool {
    /// The executable.
    pub path: PathBuf,
    /// The server version it was built for (`10.11.19-MariaDB`, `8.0.36`).
    pub version: String,
    /// Its major version.
    pub major: u32,
    /// Whether it is MariaDB's.
    pub mariadb: bool,
}

/// `(version, major, mariadb)` of a server version string (`SELECT VERSION()`) or of a client's
/// `--version` line: `mysqldump  Ver 10.19 Distrib 10.11.19-MariaDB, for …` (the `Distrib` is the
/// server version), `mariadb-dump from 11.4.2-MariaDB, client 10.19 …`, `mysqldump  Ver 8.0.36 for
/// Linux …`, or a bare `8.0.36` / `10.11.19-MariaDB-0+deb12u1`.
pub fn parse_mysql_version(text: &str) -> Option<(String, u32, bool)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let after = |key: &str| words.iter().position(|w| *w == key).and_then(|i| words.get(i + 1)).copied();
    let version =
        after("Distrib").or_else(|| after("from")).or_else(|| after("Ver")).or_else(|| words.first().copied())?;
    let version = version.trim_end_matches(',').to_owned();
    let major = version.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    Some((version, major, text.contains("MariaDB")))
}

/// Find the MySQL/MariaDB `program` matching the server whose `SELECT VERSION()` is
/// `server_version`: the configured folder, then `PATH`. Flavour (MySQL or MariaDB) and major
/// version must match; anything else is refused, naming what was found.
pub fn find_mysql_tool(
    program: MysqlProgram,
    server_version: &str,
    configured: Option<&Path>,
) -> Result<MysqlTool, BackupError> {
    let tool = program.name();
    let Some((_, major, mariadb)) = parse_mysql_version(server_version) else {
        return Err(BackupError::Tool {
            tool: tool.to_owned(),
            message: format!("cannot read the server version `{server_version}`"),
        });
    };
    let flavour = |m: bool| if m { "MariaDB" } else { "MySQL" };
    let mut dirs: Vec<PathBuf> = configured.map(Path::to_path_buf).into_iter().collect();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    let mut seen = Vec::new();
    for dir in &dirs {
        for exe in program.executables(mariadb) {
            let c = dir.join(exe);
            if !c.is_file() {
                continue;
            }
            let Ok(out) = Command::new(&c).arg("--version").output() else { continue };
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let Some((version, m, is_mariadb)) = parse_mysql_version(&text).filter(|_| out.status.success()) else {
                continue;
            };
            if m == major && is_mariadb == mariadb {
                return Ok(MysqlTool { path: c, version, major: m, mariadb });
            }
            seen.push(format!("{} is {} {version}", c.display(), flavour(is_mariadb)));
        }
    }
    let wanted = format!("{} {major}", flavour(mariadb));
    let message = if seen.is_empty() {
        format!(
            "not found for {wanted} (looked for {} in {}PATH)",
            program.executables(mariadb).join("/"),
            configured.map(|d| format!("{} and ", d.display())).unwrap_or_default()
        )
    } else {
        format!("no {tool} matches the server ({wanted}, `{server_version}`): {}", seen.join(", "))
    };
    Err(BackupError::Tool { tool: tool.to_owned(), message })
}

/// How the MySQL client programs reach the server of `url`: the options (never the password),
/// the database name, and the password (for `MYSQL_PWD`).
#[derive(Debug, Clone)]
pub struct MysqlConnArgs {
    /// `--host`, `--port`, `--user`, `--protocol`, `--socket`, TLS options.
    pub options: Vec<String>,
    /// The database the URL names.
    pub database: String,
    password: Option<String>,
}

impl MysqlConnArgs {
    /// The arguments for `url` (a `mysql://` URL); `mariadb` picks the TLS option spelling.
    pub fn from_url(url: &DatabaseUrl, mariadb: bool) -> Result<MysqlConnArgs, BackupError> {
        let u = url::Url::parse(url.expose())
            .map_err(|e| BackupError::Invalid(format!("invalid database URL {}: {e}", url.redacted())))?;
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let mut options = Vec::new();
        let socket = u.query_pairs().find(|(k, _)| k == "socket").map(|(_, v)| v.into_owned());
        match &socket {
            Some(s) => options.extend(["--protocol=SOCKET".to_owned(), format!("--socket={s}")]),
            None => {
                // sqlx connects over TCP even to `localhost`; the client programs would pick the
                // socket there, so the protocol is explicit.
                options.push("--protocol=TCP".to_owned());
                options.push(format!("--host={}", u.host_str().unwrap_or("localhost")));
                options.push(format!("--port={}", u.port().unwrap_or(3306)));
            }
        }
        if !u.username().is_empty() {
            options.push(format!("--user={}", decode(u.username())));
        }
        for (k, v) in u.query_pairs() {
            match (k.as_ref(), v.to_ascii_lowercase().as_str(), mariadb) {
                ("ssl-mode" | "sslmode", "disabled", true) => options.push("--skip-ssl".into()),
                ("ssl-mode" | "sslmode", "required", true) => options.push("--ssl".into()),
                ("ssl-mode" | "sslmode", "verify_ca" | "verify_identity", true) => {
                    options.extend(["--ssl".to_owned(), "--ssl-verify-server-cert".to_owned()]);
                }
                ("ssl-mode" | "sslmode", mode, false) => options.push(format!("--ssl-mode={}", mode.to_uppercase())),
                ("ssl-ca", _, _) => options.push(format!("--ssl-ca={v}")),
                _ => {}
            }
        }
        let database = decode(u.path().trim_start_matches('/'));
        if database.is_empty() || database.starts_with('-') {
            return Err(BackupError::Invalid(format!("the database URL {} names no usable database", url.redacted())));
        }
        let password = u.password().map(decode).filter(|p| !p.is_empty());
        Ok(MysqlConnArgs { options, database, password })
    }

    /// A command running `tool` against the server: the connection options first, the password
    /// in `MYSQL_PWD` (removed from the inherited environment when the URL has none).
    pub fn command(&self, tool: &Path) -> Command {
        let mut cmd = Command::new(tool);
        cmd.args(&self.options);
        match &self.password {
            Some(p) => cmd.env("MYSQL_PWD", p),
            None => cmd.env_remove("MYSQL_PWD"),
        };
        cmd
    }

    /// `client` loading the dump file `dump` into this URL's database: `--binary-mode` (the dump
    /// is data: no client commands such as `\!` are run from it, no `\r\n` translation), the
    /// dump's character set.
    pub fn load_command(&self, client: &Path, dump: &Path) -> Result<Command, BackupError> {
        let input = std::fs::File::open(dump).map_err(BackupError::io("cannot read", dump))?;
        let mut cmd = self.command(client);
        cmd.args(["--binary-mode", "--default-character-set=utf8mb4"])
            .arg(&self.database)
            .stdin(input)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        Ok(cmd)
    }
}

/// Why a `mysqldump` file is not a complete dump: it must start with the dump header
/// (`-- MySQL dump` / `-- MariaDB dump`, within its first three lines) and end with the `-- Dump completed` line that
/// `mysqldump` writes last.
pub fn mysql_dump_problem(path: &Path) -> Option<String> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return Some(e.to_string()),
    };
    let mut head = [0u8; 512];
    let n = match f.read(&mut head) {
        Ok(n) => n,
        Err(e) => return Some(e.to_string()),
    };
    // MariaDB's dumps may open with a `/*M!999999\- enable the sandbox mode */` line first.
    let head = String::from_utf8_lossy(&head[..n]);
    if !head.lines().take(3).any(|l| l.starts_with("-- MySQL dump") || l.starts_with("-- MariaDB dump")) {
        return Some("it does not start with a mysqldump header".into());
    }
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut tail = Vec::new();
    if let Err(e) = f.seek(SeekFrom::Start(len.saturating_sub(256))).and_then(|_| f.read_to_end(&mut tail)) {
        return Some(e.to_string());
    }
    let tail = String::from_utf8_lossy(&tail);
    let last = tail.trim_end().rsplit('\n').next().unwrap_or("");
    if !last.starts_with("-- Dump completed") {
        return Some("it does not end with mysqldump's `-- Dump completed` line (truncated or unfinished)".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_versions_are_read_from_servers_and_both_client_flavours() {
        let v = |t: &str| parse_mysql_version(t).unwrap();
        assert_eq!(v("10.11.19-MariaDB-0+deb12u1"), ("10.11.19-MariaDB-0+deb12u1".into(), 10, true));
        assert_eq!(v("8.0.36"), ("8.0.36".into(), 8, false));
        assert_eq!(
            v("mysqldump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)"),
            ("10.11.19-MariaDB".into(), 10, true)
        );
        assert_eq!(
            v("mariadb-dump from 11.4.2-MariaDB, client 10.19 for linux-systemd (x86_64)"),
            ("11.4.2-MariaDB".into(), 11, true)
        );
        assert_eq!(
            v("mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)"),
            ("8.0.36".into(), 8, false)
        );
        assert_eq!(v("mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)"), ("5.7.44".into(), 5, false));
    }

    #[test]
    fn a_mysql_client_of_another_flavour_or_major_version_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("mysqldump");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)'\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = find_mysql_tool(MysqlProgram::Dump, "8.0.40", Some(dir.path())).unwrap();
        assert_eq!((found.path, found.major, found.mariadb), (fake.clone(), 8, false));
        let err = find_mysql_tool(MysqlProgram::Dump, "9.1.0", Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("MySQL 9") && err.contains("MySQL 8.0.36"), "{err}");
        // A MySQL client is never used against MariaDB, whatever the numbers say.
        let err = find_mysql_tool(MysqlProgram::Dump, "8.0.1-MariaDB", Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("MariaDB 8"), "{err}");
    }

    #[test]
    fn mysql_connection_arguments_never_carry_the_password() {
        let url = DatabaseUrl::parse("mysql://app%40x:s3cr%23t@db.example:3307/shop?ssl-mode=required").unwrap();
        let args = MysqlConnArgs::from_url(&url, true).unwrap();
        assert_eq!(args.database, "shop");
        assert_eq!(
            args.options,
            ["--protocol=TCP", "--host=db.example", "--port=3307", "--user=app@x", "--ssl"].map(String::from)
        );
        let cmd = args.command(Path::new("/bin/true"));
        assert!(cmd.get_args().all(|a| !a.to_string_lossy().contains("s3cr")));
        let env: Vec<_> = cmd.get_envs().collect();
        assert_eq!(env, [(std::ffi::OsStr::new("MYSQL_PWD"), Some(std::ffi::OsStr::new("s3cr#t")))]);
        let no_password = MysqlConnArgs::from_url(&DatabaseUrl::parse("mysql://root@h/db").unwrap(), true).unwrap();
        let cmd = no_password.command(Path::new("/bin/true"));
        assert_eq!(cmd.get_envs().collect::<Vec<_>>(), [(std::ffi::OsStr::new("MYSQL_PWD"), None)]);
    }

    #[test]
    fn a_mysql_dump_without_its_footer_is_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("dump.sql");
        let full = "/*M!999999\\- enable the sandbox mode */\n-- MariaDB dump 10.19\nCREATE TABLE t (id int);\n\n-- Dump completed on 2026-01-01 10:00:00\n";
        std::fs::write(&p, full).unwrap();
        assert_eq!(mysql_dump_problem(&p), None);
        std::fs::write(&p, &full[..full.len() / 2]).unwrap();
        assert!(mysql_dump_problem(&p).unwrap().contains("truncated"));
        std::fs::write(&p, "garbage").unwrap();
        assert!(mysql_dump_problem(&p).unwrap().contains("header"));
    }

    #[test]
    fn a_tool_of_another_major_version_is_refused_with_the_versions_named() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("pg_dump");
        std::fs::write(&fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.1'\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = find_pg_tool("pg_dump", 99, Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("major version 99") && err.contains("9.6.1"), "{err}");
        let found = find_pg_tool("pg_dump", 9, Some(dir.path())).unwrap();
        assert_eq!((found.major, found.version.as_str()), (9, "9.6.1"));
        let missing = find_pg_tool("pg_nonexistent_tool", 15, Some(dir.path())).unwrap_err().to_string();
        assert!(missing.contains("not found for PostgreSQL 15"), "{missing}");
    }
}
