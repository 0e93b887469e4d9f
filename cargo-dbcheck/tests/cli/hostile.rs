//! Hostile input: every case ends with a clear message and exit code 2 or 3, never a panic, and
//! never shows a password.

use dbcheck_tests::{TestDb, require_db};

use crate::project::{TempProject, output_text};

fn assert_no_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
}

#[test]
fn unknown_config_key_names_file_line_and_key() {
    let p = TempProject::new("[package.metadata.dbcheck]\nmigratons = \"db\"\n");
    let out = p.cmd().arg("status").output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("migratons"), "{stderr}");
    assert!(stderr.contains("Cargo.toml"), "{stderr}");
    assert!(stderr.contains("line 7"), "{stderr}");
    assert_no_panic(&stderr);
}

#[test]
fn malformed_dbcheck_toml_is_a_usage_error() {
    let p = TempProject::new("");
    p.write("dbcheck.toml", "fail_on = [\n");
    let out = p.cmd().output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("dbcheck.toml"), "{stderr}");
    assert_no_panic(&stderr);
}

#[test]
fn wrong_type_in_config_is_a_usage_error() {
    let p = TempProject::new("[package.metadata.dbcheck]\nconnect_timeout_secs = \"soon\"\n");
    let out = p.cmd().output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("connect_timeout_secs"), "{stderr}");
}

#[test]
fn non_utf8_migration_is_named() {
    let p = TempProject::new("").with_sqlx_migrations();
    p.write("migrations/3_latin1.sql", b"INSERT INTO ads (title) VALUES ('caf\xe9');\n");
    let out = p.cmd().output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("3_latin1.sql"), "{stderr}");
    assert!(stderr.contains("UTF-8"), "{stderr}");
    assert_no_panic(&stderr);
}

#[test]
fn unreadable_migration_is_named() {
    let p = TempProject::new("").with_sqlx_migrations();
    // A dangling symlink cannot be read even by root.
    std::os::unix::fs::symlink(p.path().join("gone.sql"), p.path().join("migrations/3_gone.sql")).unwrap();
    let out = p.cmd().output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("3_gone.sql"), "{stderr}");
    assert_no_panic(&stderr);
}

#[test]
fn duplicate_versions_name_both_files() {
    let p = TempProject::new("").with_sqlx_migrations();
    p.write("migrations/02_add_price.sql", "ALTER TABLE ads ADD COLUMN price INTEGER;\n");
    let out = p.cmd().output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("duplicate version 2"), "{stderr}");
    assert!(stderr.contains("02_add_price.sql") && stderr.contains("2_add_slug.sql"), "{stderr}");
}

#[test]
fn missing_migrations_folder_says_which_and_how_to_configure() {
    let p = TempProject::new("[package.metadata.dbcheck]\nmigrations = \"db/migrations\"\n");
    let out = p.cmd().output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("db/migrations"), "{stderr}");
}

#[test]
fn status_without_a_url_is_a_usage_error() {
    let p = TempProject::new("").with_sqlx_migrations();
    let out = p.cmd().arg("status").output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
}

#[test]
fn unsupported_url_scheme_is_a_usage_error_without_the_password() {
    let p = TempProject::new("").with_sqlx_migrations();
    let out = p.cmd().args(["status", "--database-url", "oracle://scott:tiger-secret@db/x"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("tiger-secret") && !stdout.contains("tiger-secret"), "{stderr}");
}

#[test]
fn unreachable_server_exits_3_without_the_password() {
    // Port 1 on loopback: nothing listens there.
    let p = TempProject::new("").with_sqlx_migrations();
    for url in ["postgres://app:pw-very-secret@127.0.0.1:1/app", "mysql://app:pw-very-secret@127.0.0.1:1/app"] {
        let out = p.cmd().args(["status", "--database-url", url]).output().unwrap();
        let (stdout, stderr) = output_text(&out);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains("cannot reach"), "{stderr}");
        assert!(!stderr.contains("pw-very-secret") && !stdout.contains("pw-very-secret"), "{stderr}");
        assert!(stderr.contains("***"), "{stderr}");
    }
}

#[tokio::test]
async fn wrong_password_exits_3_and_never_prints_it() {
    let db = require_db!(TestDb::mysql().await);
    let p = TempProject::new("").with_sqlx_migrations();
    // The harness's admin user has no password; any password is wrong.
    let url = db.url().replacen("mysql://root@", "mysql://root:Wr0ng-Pa55word@", 1);
    assert_ne!(url, db.url(), "the harness URL changed shape: {}", db.url());
    for format in ["human", "json", "short"] {
        let out = p.cmd().args(["status", "--message-format", format, "--database-url", &url]).output().unwrap();
        let (stdout, stderr) = output_text(&out);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains("authentication failed"), "{stderr}");
        assert!(!stdout.contains("Wr0ng-Pa55word") && !stderr.contains("Wr0ng-Pa55word"), "{stdout}{stderr}");
    }
}

#[tokio::test]
async fn missing_database_exits_3() {
    let db = require_db!(TestDb::postgres().await);
    let p = TempProject::new("").with_sqlx_migrations();
    let url = format!("{}_does_not_exist", db.url());
    let out = p.cmd().args(["status", "--database-url", &url]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
}

#[test]
fn unknown_package_is_a_usage_error() {
    let p = TempProject::new("");
    let out = p.cmd().args(["-p", "nope"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nope") && stderr.contains("app"), "{stderr}");
}

#[test]
fn bad_flags_are_usage_errors() {
    let p = TempProject::new("");
    let out = p.cmd().args(["--message-format", "xml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = p.cmd().args(["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn rejected_postgres_login_exits_3_and_never_prints_the_password() {
    // The test server trusts local logins, so a wrong password cannot be produced there; an
    // unknown role is refused with the same class of error (SQLSTATE 28000).
    let db = require_db!(TestDb::postgres().await);
    let p = TempProject::new("").with_sqlx_migrations();
    let url = db.url().replacen("postgres://postgres@", "postgres://no_such_role_x:Pg-Secret-123@", 1);
    assert_ne!(url, db.url(), "the harness URL changed shape: {}", db.url());
    let out = p.cmd().args(["status", "--database-url", &url]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert!(!stdout.contains("Pg-Secret-123") && !stderr.contains("Pg-Secret-123"), "{stdout}{stderr}");
}
