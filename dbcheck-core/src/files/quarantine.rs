//! Quarantine: orphan files moved (never deleted) into a folder, with a manifest that makes the
//! move reversible, and the restore that moves them back.
//!
//! **Invariant:** only regular files are moved; every move re-checks, right before it happens,
//! that the file is still a regular file reached through no symlink and unchanged since the check
//! (`O_NOFOLLOW`, parents canonical); the restore treats the manifest as untrusted input and
//! applies the same path checks as to database values.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead as _, BufReader, BufWriter, Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::FilesError;
use super::path::check_relative;
use super::report::{QuarantineReport, RestoreReport, Sample};
use super::walk::bytes_to_path;

/// The manifest's file name inside the quarantine folder.
pub const MANIFEST: &str = "manifest.jsonl";

/// One moved file, one line of the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestEntry {
    /// The run (a subfolder of the quarantine folder).
    pub run: String,
    /// Index of the root within the run (a subfolder of the run).
    pub group: usize,
    /// The root folder the file came from (absolute, canonical).
    pub root: String,
    /// The root as hex bytes, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_hex: Option<String>,
    /// The file's path relative to the root.
    pub path: String,
    /// The path as hex bytes, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the contents, lowercase hex.
    pub sha256: String,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: i64,
    /// When it was moved (RFC 3339).
    pub moved_at: String,
}

fn text_and_hex(bytes: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), None),
        Err(_) => (String::from_utf8_lossy(bytes).into_owned(), Some(hex::encode(bytes))),
    }
}

fn from_text_or_hex(text: &str, hex_value: Option<&str>) -> Option<Vec<u8>> {
    match hex_value {
        Some(h) => hex::decode(h).ok(),
        None => Some(text.as_bytes().to_vec()),
    }
}

/// Open a regular file for reading without following a final symlink and without blocking on a
/// FIFO; fails when it is not a regular file.
pub(crate) fn open_regular(path: &Path) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = opts.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// Size and SHA-256 (lowercase hex) of everything `reader` yields.
pub(crate) fn sha256_of(mut reader: impl std::io::Read) -> std::io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// Whether `dir` (a folder under `root`) is reached through no symlink.
fn canonical_under(root: &Path, rel_dir: &Path) -> bool {
    let expected = root.join(rel_dir);
    fs::canonicalize(&expected).is_ok_and(|c| c == expected)
}

fn is_cross_device(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::EXDEV)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Move `src` (open as `file`, with `sha256`) to `dest`, which must not exist: a rename, or across
/// filesystems a copy that is verified before the source is removed.
fn move_file(src: &Path, file: &mut File, dest: &Path, sha256: &str) -> Result<(), String> {
    match fs::rename(src, dest) {
        Ok(()) => return Ok(()),
        Err(e) if !is_cross_device(&e) => return Err(format!("cannot move: {e}")),
        Err(_) => {}
    }
    let mut copy = || -> std::io::Result<String> {
        file.rewind()?;
        let mut out = OpenOptions::new().write(true).create_new(true).open(dest)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
        }
        out.sync_all()?;
        Ok(hex::encode(hasher.finalize()))
    };
    match copy() {
        Ok(h) if h == sha256 => {
            fs::remove_file(src).map_err(|e| format!("copied, but cannot remove the original: {e}"))
        }
        Ok(_) => {
            let _ = fs::remove_file(dest);
            Err("changed while being copied".to_owned())
        }
        Err(e) => {
            let _ = fs::remove_file(dest);
            Err(format!("cannot copy across filesystems: {e}"))
        }
    }
}

/// A quarantine run in progress: orphans are spooled to a file during the check and moved only
/// after the check completed.
#[derive(Debug)]
pub(crate) struct Quarantine {
    dir: PathBuf,
    run: String,
    spool_path: PathBuf,
    spool: BufWriter<File>,
    spooled: u64,
}

impl Quarantine {
    /// Prepare `dir` (created if missing; must not be inside any of `roots`).
    pub(crate) fn open(dir: &Path, roots: &[PathBuf]) -> Result<Self, FilesError> {
        fs::create_dir_all(dir).map_err(|source| FilesError::Write { path: dir.to_path_buf(), source })?;
        let canon = fs::canonicalize(dir).map_err(|source| FilesError::Write { path: dir.to_path_buf(), source })?;
        if let Some(root) = roots.iter().find(|r| canon.starts_with(r) || r.starts_with(&canon)) {
            return Err(FilesError::QuarantineOverlaps { dir: canon, root: root.clone() });
        }
        let run = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ").to_string();
        let spool_path = canon.join(format!(".spool-{run}"));
        let file =
            File::create(&spool_path).map_err(|source| FilesError::Write { path: spool_path.clone(), source })?;
        Ok(Quarantine { dir: canon, run, spool_path, spool: BufWriter::new(file), spooled: 0 })
    }

    /// Remember that `rel` under root `group` is an orphan.
    pub(crate) fn spool(&mut self, group: usize, rel: &[u8]) -> Result<(), FilesError> {
        self.spooled += 1;
        writeln!(self.spool, "{group}\t{}", hex::encode(rel))
            .map_err(|source| FilesError::Write { path: self.spool_path.clone(), source })
    }

    /// Move every spooled orphan of `roots` (canonical) that is still an unchanged regular file
    /// older than `cutoff`.
    pub(crate) fn execute(
        mut self,
        roots: &[PathBuf],
        cutoffs: &[SystemTime],
        samples: usize,
    ) -> Result<QuarantineReport, FilesError> {
        let spool_err = |source| FilesError::Write { path: self.spool_path.clone(), source };
        self.spool.flush().map_err(spool_err)?;
        let mut report =
            QuarantineReport { dir: self.dir.clone(), run: self.run.clone(), ..QuarantineReport::default() };
        if self.spooled == 0 {
            let _ = fs::remove_file(&self.spool_path);
            return Ok(report);
        }
        let manifest_path = self.dir.join(MANIFEST);
        let mut manifest = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&manifest_path)
            .map_err(|source| FilesError::Write { path: manifest_path.clone(), source })?;
        let reader = BufReader::new(File::open(&self.spool_path).map_err(spool_err)?);
        for line in reader.lines() {
            let line = line.map_err(spool_err)?;
            let Some((group, rel)) = line.split_once('\t') else { continue };
            let (Ok(group), Ok(rel)) = (group.parse::<usize>(), hex::decode(rel)) else { continue };
            let (Some(root), Some(cutoff)) = (roots.get(group), cutoffs.get(group)) else { continue };
            match self.move_one(root, group, &rel, *cutoff) {
                Ok(entry) => {
                    report.moved += 1;
                    report.bytes += entry.size;
                    let mut text = serde_json::to_string(&entry).unwrap_or_default();
                    text.push('\n');
                    manifest
                        .write_all(text.as_bytes())
                        .and_then(|()| manifest.sync_data())
                        .map_err(|source| FilesError::Write { path: manifest_path.clone(), source })?;
                }
                Err(why) => {
                    report.skipped += 1;
                    if report.skipped_samples.len() < samples {
                        report.skipped_samples.push(Sample {
                            key: None,
                            value: String::from_utf8_lossy(&rel).into_owned(),
                            detail: Some(why),
                        });
                    }
                }
            }
        }
        let _ = fs::remove_file(&self.spool_path);
        Ok(report)
    }

    fn move_one(&self, root: &Path, group: usize, rel: &[u8], cutoff: SystemTime) -> Result<ManifestEntry, String> {
        check_relative(rel).map_err(|p| format!("unsafe path ({p:?})"))?;
        let rel_path = bytes_to_path(rel);
        let src = root.join(&rel_path);
        let parent_rel = rel_path.parent().unwrap_or(Path::new(""));
        if !canonical_under(root, parent_rel) {
            return Err("a folder on its path is no longer a plain folder under the root".to_owned());
        }
        let meta = fs::symlink_metadata(&src).map_err(|e| format!("gone since the check: {e}"))?;
        if !meta.is_file() {
            return Err("no longer a regular file".to_owned());
        }
        let mtime = meta.modified().map_err(|e| e.to_string())?;
        if mtime > cutoff {
            return Err("modified since the check".to_owned());
        }
        let mut file = open_regular(&src).map_err(|e| format!("cannot open: {e}"))?;
        let (size, sha256) = sha256_of(&mut file).map_err(|e| format!("cannot read: {e}"))?;
        let dest = self.dir.join(&self.run).join(group.to_string()).join(&rel_path);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        if fs::symlink_metadata(&dest).is_ok() {
            return Err(format!("{} already exists", dest.display()));
        }
        move_file(&src, &mut file, &dest, &sha256)?;
        let (root_text, root_hex) = text_and_hex(&super::walk::os_bytes(root.as_os_str()));
        let (path, path_hex) = text_and_hex(rel);
        Ok(ManifestEntry {
            run: self.run.clone(),
            group,
            root: root_text,
            root_hex,
            path,
            path_hex,
            size,
            sha256,
            mtime: mtime.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64),
            moved_at: chrono::Utc::now().to_rfc3339(),
        })
    }
}

impl Drop for Quarantine {
    fn drop(&mut self) {
        // Only left behind when the check failed: nothing was moved.
        let _ = fs::remove_file(&self.spool_path);
    }
}

/// Move every file listed in `dir`'s manifest back to where it came from, when its quarantined
/// copy is intact and nothing has taken its place. Restored files leave the manifest; the others
/// stay, with the reason in the report.
pub fn restore_quarantine(dir: &Path, samples: usize) -> Result<RestoreReport, FilesError> {
    let manifest_path = dir.join(MANIFEST);
    let text = fs::read_to_string(&manifest_path)
        .map_err(|source| FilesError::Read { path: manifest_path.clone(), source })?;
    let dir = fs::canonicalize(dir).map_err(|source| FilesError::Read { path: dir.to_path_buf(), source })?;
    let mut report = RestoreReport { dir: dir.clone(), ..RestoreReport::default() };
    let mut kept = String::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let entry: ManifestEntry = serde_json::from_str(line).map_err(|e| FilesError::Manifest {
            path: manifest_path.clone(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        match restore_one(&dir, &entry) {
            Ok(()) => report.restored += 1,
            Err(why) => {
                report.left += 1;
                if report.left_samples.len() < samples {
                    report.left_samples.push(Sample { key: None, value: entry.path.clone(), detail: Some(why) });
                }
                kept.push_str(line);
                kept.push('\n');
            }
        }
    }
    let tmp = dir.join(format!(".{MANIFEST}.tmp-{}", std::process::id()));
    fs::write(&tmp, kept.as_bytes())
        .and_then(|()| fs::rename(&tmp, &manifest_path))
        .map_err(|source| FilesError::Write { path: manifest_path.clone(), source })?;
    Ok(report)
}

fn restore_one(dir: &Path, e: &ManifestEntry) -> Result<(), String> {
    let bad = |what: &str| format!("the manifest entry has an unsafe {what}");
    let rel = from_text_or_hex(&e.path, e.path_hex.as_deref()).ok_or_else(|| bad("path"))?;
    check_relative(&rel).map_err(|_| bad("path"))?;
    check_relative(e.run.as_bytes()).map_err(|_| bad("run"))?;
    if e.run.contains('/') {
        return Err(bad("run"));
    }
    let root_bytes = from_text_or_hex(&e.root, e.root_hex.as_deref()).ok_or_else(|| bad("root"))?;
    let root = bytes_to_path(&root_bytes).into_owned();
    if !root.is_absolute() {
        return Err(bad("root"));
    }
    let root = fs::canonicalize(&root).map_err(|err| format!("the root folder is gone: {err}"))?;
    let rel_path = bytes_to_path(&rel).into_owned();
    let stored = dir.join(&e.run).join(e.group.to_string()).join(&rel_path);
    let stored_parent_rel =
        Path::new(&e.run).join(e.group.to_string()).join(rel_path.parent().unwrap_or(Path::new("")));
    if !canonical_under(dir, &stored_parent_rel) {
        return Err("missing from the quarantine folder".to_owned());
    }
    let mut file = open_regular(&stored).map_err(|err| format!("missing from the quarantine folder: {err}"))?;
    let (_, sha) = sha256_of(&mut file).map_err(|err| format!("cannot read the quarantined copy: {err}"))?;
    if sha != e.sha256 {
        return Err("the quarantined copy changed (SHA-256 differs from the manifest)".to_owned());
    }
    let original = root.join(&rel_path);
    if fs::symlink_metadata(&original).is_ok() {
        return Err("something exists at the original path again".to_owned());
    }
    let parent_rel = rel_path.parent().unwrap_or(Path::new(""));
    fs::create_dir_all(root.join(parent_rel)).map_err(|err| format!("cannot create its folder: {err}"))?;
    if !canonical_under(&root, parent_rel) {
        return Err("a folder on the original path is a symlink".to_owned());
    }
    move_file(&stored, &mut file, &original, &e.sha256)
}
