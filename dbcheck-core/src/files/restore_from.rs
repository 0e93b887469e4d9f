//! `files --restore-from GEN`: look up the files that rows reference but that are missing, in a
//! dbcheck backup generation, and list them or copy them back (verified against the manifest's
//! SHA-256, never overwriting, never writing outside the root).

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::config::FilesEntry;
use super::path::{Resolved, resolve};
use super::walk::bytes_to_path;
use super::{FilesError, report::Sample};
use crate::backup::Manifest;
use crate::report::{Finding, Location, Severity};

/// What `--restore-from` found (and did).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreFromReport {
    /// The generation looked in.
    pub generation: PathBuf,
    /// Missing files the generation holds.
    pub in_backup: u64,
    /// Missing files the generation does not hold.
    pub not_in_backup: u64,
    /// Files copied back (with `apply`).
    pub restored: u64,
    /// Files not copied back although found (a file appeared meanwhile, or the copy failed its check).
    pub failed: u64,
    /// A few of each, for the report.
    pub samples: Vec<Sample>,
    /// One finding per outcome with counts.
    pub findings: Vec<Finding>,
}

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> FilesError + '_ {
    move |source| FilesError::Read { path: path.to_path_buf(), source }
}

/// Look up every `file-missing` row of the full findings list `list` (the JSON Lines a check
/// writes with `--fix DIR`) in the backup generation `generation`; with `apply`, copy each found
/// file back into its root.
pub fn restore_from(
    entries: &[FilesEntry],
    list: &Path,
    generation: &Path,
    apply: bool,
    samples: usize,
) -> Result<RestoreFromReport, FilesError> {
    let manifest = match Manifest::read(generation) {
        Ok(Some(m)) if m.compute_checksum() == m.checksum => m,
        Ok(Some(_)) => return Err(invalid(generation, "its manifest checksum does not match: run `backup verify`")),
        Ok(None) => return Err(invalid(generation, "it has no manifest: not a dbcheck backup generation")),
        Err(e) => return Err(invalid(generation, &format!("its manifest cannot be read: {e}"))),
    };
    // Backup roots by canonical folder, so entries match whatever spelling configured them.
    let canon = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let root_index: Vec<Option<usize>> = entries
        .iter()
        .map(|e| manifest.roots.iter().find(|r| canon(&r.root) == canon(&e.root)).map(|r| r.index))
        .collect();
    let files: HashMap<&str, (&str, u64)> =
        manifest.files.iter().map(|f| (f.path.as_str(), (f.sha256.as_str(), f.size))).collect();

    let mut report = RestoreFromReport { generation: generation.to_path_buf(), ..RestoreFromReport::default() };
    let reader = BufReader::new(fs::File::open(list).map_err(read_err(list))?);
    for line in reader.lines() {
        let line = line.map_err(read_err(list))?;
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
        if v["code"] != "file-missing" {
            continue;
        }
        let (Some(entry), Some(value), key) =
            (v["entry"].as_u64().map(|e| e as usize), v["value"].as_str(), v["key"].as_str().unwrap_or(""))
        else {
            continue;
        };
        let Some(e) = entries.get(entry) else { continue };
        let c = &e.config;
        let Resolved::Rel(rel) = resolve(
            value.as_bytes(),
            c.strip_prefix.as_deref().map(str::as_bytes),
            c.prefix.as_deref().map(str::as_bytes),
        ) else {
            continue;
        };
        let rel_text = String::from_utf8_lossy(&rel).into_owned();
        let sample =
            |detail: String| Sample { key: Some(key.to_owned()), value: rel_text.clone(), detail: Some(detail) };
        let stored =
            root_index[entry].and_then(|i| files.get(format!("files/{i}/{rel_text}").as_str()).map(|f| (i, f)));
        let Some((index, (sha, size))) = stored else {
            report.not_in_backup += 1;
            if report.samples.len() < samples * 2 {
                report.samples.push(sample("not in the backup".into()));
            }
            continue;
        };
        report.in_backup += 1;
        if !apply {
            if report.samples.len() < samples * 2 {
                report.samples.push(sample(format!("in the backup ({size} bytes)")));
            }
            continue;
        }
        let source = generation.join("files").join(index.to_string()).join(bytes_to_path(&rel));
        match copy_back(&source, &e.root, &rel, sha) {
            Ok(()) => {
                report.restored += 1;
                if report.samples.len() < samples * 2 {
                    report.samples.push(sample("restored".into()));
                }
            }
            Err(reason) => {
                report.failed += 1;
                report.samples.push(sample(format!("not restored: {reason}")));
            }
        }
    }
    report.findings = findings(&report, apply);
    Ok(report)
}

fn invalid(generation: &Path, why: &str) -> FilesError {
    FilesError::Read {
        path: generation.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned()),
    }
}

/// Copy `source` to `root/rel` through a temporary file and a rename, only when nothing is there,
/// only inside `root` (the parent folder is checked after it is created, so a symlinked folder
/// cannot lead out), and only when the copied bytes have the manifest's SHA-256.
fn copy_back(source: &Path, root: &Path, rel: &[u8], sha256: &str) -> Result<(), String> {
    let root = fs::canonicalize(root).map_err(|e| format!("root: {e}"))?;
    let target = root.join(bytes_to_path(rel));
    if fs::symlink_metadata(&target).is_ok() {
        return Err("a file is there now".into());
    }
    let parent = target.parent().ok_or("no parent folder")?;
    fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let real_parent = fs::canonicalize(parent).map_err(|e| e.to_string())?;
    if !real_parent.starts_with(&root) {
        return Err(format!("{} leads outside the root", parent.display()));
    }
    let bytes = fs::read(source).map_err(|e| format!("cannot read {}: {e}", source.display()))?;
    if hex::encode(Sha256::digest(&bytes)) != sha256 {
        return Err("the backup copy does not match its manifest checksum".into());
    }
    let name = target.file_name().ok_or("no file name")?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".dbcheck-restore-{}", std::process::id()));
    let tmp = real_parent.join(tmp_name);
    let written = (|| {
        let mut f = fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        // A hard link never replaces an existing file: a file that appeared meanwhile wins.
        fs::hard_link(&tmp, real_parent.join(name))
    })();
    let _ = fs::remove_file(&tmp);
    written.map_err(|e| e.to_string())
}

fn findings(r: &RestoreFromReport, apply: bool) -> Vec<Finding> {
    let at = Location::file(&r.generation);
    let mut out = Vec::new();
    if r.in_backup > 0 && !apply {
        out.push(
            Finding::new(
                "file-restorable",
                Severity::Info,
                format!("{} missing file(s) are in backup {}", r.in_backup, r.generation.display()),
            )
            .at(at.clone())
            .help("copy them back with `--restore-from GEN --apply-restore`"),
        );
    }
    if r.restored > 0 {
        out.push(
            Finding::new(
                "file-restored",
                Severity::Info,
                format!("restored {} missing file(s) from backup {}", r.restored, r.generation.display()),
            )
            .at(at.clone()),
        );
    }
    if r.failed > 0 {
        out.push(
            Finding::new(
                "file-restore-failed",
                Severity::Error,
                format!("{} file(s) found in the backup could not be restored (see the samples)", r.failed),
            )
            .at(at.clone()),
        );
    }
    if r.not_in_backup > 0 {
        out.push(
            Finding::new(
                "file-not-in-backup",
                Severity::Warning,
                format!("{} missing file(s) are not in backup {} either", r.not_in_backup, r.generation.display()),
            )
            .at(at)
            .help("try an older generation, or remove the rows (`--fix`)"),
        );
    }
    out
}
