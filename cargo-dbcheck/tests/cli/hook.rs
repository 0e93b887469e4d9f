//! `hook install|uninstall` end to end in a temporary git repository: an edited migration that
//! exists at HEAD is refused at commit time, a clean new migration goes through.

use std::process::Command;

use crate::project::{TempProject, output_text};

pub(crate) fn git(p: &TempProject, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args(["-c", "user.name=dbcheck", "-c", "user.email=dbcheck@example.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(p.path())
        .output()
        .unwrap()
}

/// A git repository holding `with_sqlx_migrations`, committed.
pub(crate) fn repo() -> TempProject {
    let p = TempProject::new("").with_sqlx_migrations();
    assert!(git(&p, &["init", "-q"]).status.success());
    assert!(git(&p, &["add", "-A"]).status.success());
    assert!(git(&p, &["commit", "-qm", "initial migrations"]).status.success());
    p
}

#[test]
fn pre_commit_hook_refuses_edited_migrations_and_lets_new_ones_through() {
    let p = repo();
    let out = p.cmd().args(["hook", "install"]).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("installed the pre-commit hook"), "{stdout}");

    // Editing a migration that exists at HEAD: the commit is refused with the reason.
    p.write("migrations/2_add_slug.sql", "ALTER TABLE ads ADD COLUMN slug VARCHAR(100);\n");
    assert!(git(&p, &["add", "-A"]).status.success());
    let commit = git(&p, &["commit", "-qm", "edit an applied migration"]);
    let (_, stderr) = output_text(&commit);
    assert!(!commit.status.success(), "the commit went through: {stderr}");
    assert!(stderr.contains("2_add_slug.sql") && stderr.contains("edited"), "{stderr}");

    // Undo the edit, add a clean new migration: the commit goes through.
    p.write("migrations/2_add_slug.sql", "ALTER TABLE ads ADD COLUMN slug TEXT;\n");
    p.write("migrations/3_add_price.sql", "ALTER TABLE ads ADD COLUMN price INTEGER;\n");
    assert!(git(&p, &["add", "-A"]).status.success());
    let commit = git(&p, &["commit", "-qm", "add price"]);
    assert!(commit.status.success(), "{:?}", output_text(&commit));

    let out = p.cmd().args(["hook", "uninstall"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
    assert!(!p.path().join(".git/hooks/pre-commit").exists());
}

#[test]
fn a_foreign_hook_is_never_overwritten_without_force() {
    let p = repo();
    let hook = p.write(".git/hooks/pre-commit", "#!/bin/sh\necho team hook\n");
    let out = p.cmd().args(["hook", "install"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(output_text(&out).1.contains("was not written by dbcheck"));
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), "#!/bin/sh\necho team hook\n");
    // Uninstall leaves it alone too.
    let out = p.cmd().args(["hook", "uninstall"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(hook.exists());
    // --force replaces it.
    let out = p.cmd().args(["hook", "install", "--force"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(std::fs::read_to_string(&hook).unwrap().contains("cargo dbcheck hook install"));
}

#[test]
fn hook_outside_a_git_repository_is_a_usage_error() {
    let p = TempProject::new("");
    let out = p.cmd().args(["hook", "install"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(output_text(&out).1.contains("not inside a git repository"));
}
