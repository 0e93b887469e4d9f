//! The PostgreSQL client tools: the `pg_dump`/`pg_restore` matching the server's major version,
//! and their connection arguments (the password goes through the environment, never argv).

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

#[cfg(test)]
mod tests {
    use super::*;

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
