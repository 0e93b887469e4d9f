//! `cargo dbcheck hook install|uninstall`: a git pre-commit hook that runs the offline migration
//! checks (`migrate check --base HEAD`) before every commit.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{Args, Subcommand};
use dbcheck_core::config::Project;
use dbcheck_core::{Finding, Location, Severity};

use super::ProjectResult;
use crate::exit::CliError;
use crate::render::Renderer;

/// The line that marks a hook as dbcheck's own: only such hooks are replaced or removed.
const MARKER: &str = "# installed by `cargo dbcheck hook install`";

/// `hook` options.
#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    command: HookCommand,
}

#[derive(Debug, Subcommand)]
enum HookCommand {
    /// Write .git/hooks/pre-commit (respecting core.hooksPath); refuses to replace another hook
    Install {
        /// Replace an existing pre-commit hook that dbcheck did not write
        #[arg(long)]
        force: bool,
    },
    /// Remove the pre-commit hook if dbcheck wrote it
    Uninstall,
}

fn usage(message: String, help: Option<&str>) -> CliError {
    CliError::Usage { message, help: help.map(str::to_owned) }
}

/// The pre-commit hook file of the repository holding `dir`.
fn hook_path(dir: &Path) -> Result<PathBuf, CliError> {
    let out = Command::new("git")
        .args(["rev-parse", "--git-path", "hooks/pre-commit"])
        .current_dir(dir)
        .output()
        .map_err(|e| usage(format!("cannot run git: {e}"), Some("install git, or run inside a git repository")))?;
    if !out.status.success() {
        return Err(usage(
            format!("{} is not inside a git repository", dir.display()),
            Some("run `git init` first, or pass --manifest-path of a package inside the repository"),
        ));
    }
    let rel = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Ok(dir.join(rel))
}

/// The hook script: run this very binary's offline checks from the repository root.
fn script(project: &Project) -> String {
    let exe = std::env::current_exe().map_or_else(|_| "cargo-dbcheck".to_owned(), |p| p.display().to_string());
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let manifest = project.root.join("Cargo.toml");
    let (exe, manifest) = (quote(&exe), quote(&manifest.display().to_string()));
    format!(
        "#!/bin/sh\n{MARKER}\n# Refuses commits that edit or delete a migration that exists at HEAD, or add one that\n\
         # sorts before the newest there, and lints the migrations new since HEAD. Offline: no database.\n\
         # Remove with `cargo dbcheck hook uninstall`.\n\
         {exe} dbcheck --manifest-path {manifest} migrate check --base HEAD --message-format short || exit 1\n\
         exec {exe} dbcheck --manifest-path {manifest} lint --offline --base HEAD --message-format short\n"
    )
}

/// Run `hook install|uninstall` for one project.
pub fn run(project: &Project, args: &HookArgs, renderer: &Renderer) -> Result<ProjectResult, CliError> {
    let path = hook_path(&project.root)?;
    let existing = std::fs::read_to_string(&path).ok();
    let ours = existing.as_deref().is_some_and(|t| t.contains(MARKER));
    let write_err = |e: std::io::Error| usage(format!("cannot write {}: {e}", path.display()), None);
    let finding = match args.command {
        HookCommand::Install { force } => {
            if existing.is_some() && !ours && !force {
                return Err(usage(
                    format!("{} exists and was not written by dbcheck", path.display()),
                    Some(
                        "call dbcheck from that hook yourself, or replace it with `cargo dbcheck hook install --force`",
                    ),
                ));
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(write_err)?;
            }
            std::fs::write(&path, script(project)).map_err(write_err)?;
            set_executable(&path).map_err(write_err)?;
            Finding::new("hook-installed", Severity::Info, format!("installed the pre-commit hook {}", path.display()))
        }
        HookCommand::Uninstall => {
            if !ours {
                return Err(usage(
                    format!("{} is not a hook dbcheck installed", path.display()),
                    Some("nothing to remove; dbcheck never deletes hooks it did not write"),
                ));
            }
            std::fs::remove_file(&path).map_err(write_err)?;
            Finding::new("hook-uninstalled", Severity::Info, format!("removed the pre-commit hook {}", path.display()))
        }
    };
    let result = ProjectResult {
        project: project.name.clone(),
        command: "hook",
        findings: vec![finding.at(Location::file(&path))],
        config_files: project.config_files.clone(),
        ..ProjectResult::default()
    };
    renderer.project(&result);
    Ok(result)
}

#[cfg(unix)]
fn set_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> std::io::Result<()> {
    Ok(())
}
