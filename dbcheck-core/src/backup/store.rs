//! The backup directory: generation ids, the lock, leftovers of interrupted runs, listing,
//! growth and retention.

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::manifest::{MANIFEST, Manifest};
use super::{BackupError, copy};
use crate::{Finding, Location, Severity};

/// Prefix of a generation being written.
pub const TMP_PREFIX: &str = ".tmp-";
/// Prefix of a generation being deleted.
pub const TRASH_PREFIX: &str = ".trash-";
const LOCK: &str = ".lock";

/// Growth per 30 days above which `backup list` warns.
pub const GROWTH_ALERT: f64 = 0.5;

/// The backup directory's lock, released on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Take the lock of `dir` (created with mode 0700 when missing). A lock left by a process that is
/// gone (a killed backup) is taken over.
pub fn lock(dir: &Path) -> Result<Lock, BackupError> {
    copy::make_dirs(dir)?;
    let path = dir.join(LOCK);
    for _ in 0..3 {
        match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                use std::io::Write as _;
                f.write_all(std::process::id().to_string().as_bytes())
                    .map_err(BackupError::io("cannot write", &path))?;
                return Ok(Lock { path });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let pid: Option<u32> = fs::read_to_string(&path).ok().and_then(|t| t.trim().parse().ok());
                if let Some(pid) = pid
                    && pid != std::process::id()
                    && Path::new(&format!("/proc/{pid}")).exists()
                {
                    return Err(BackupError::Locked { dir: dir.to_path_buf(), pid });
                }
                let _ = fs::remove_file(&path);
            }
            Err(e) => return Err(BackupError::Io { action: "cannot write", path, source: e }),
        }
    }
    Err(BackupError::Locked { dir: dir.to_path_buf(), pid: 0 })
}

/// Remove what interrupted runs left (`.tmp-*`, `.trash-*`); call with the lock held. Returns the
/// names removed.
pub fn clean_leftovers(dir: &Path) -> Result<Vec<String>, BackupError> {
    let mut removed = Vec::new();
    let Ok(read) = fs::read_dir(dir) else { return Ok(removed) };
    for e in read.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(TMP_PREFIX) || name.starts_with(TRASH_PREFIX) {
            let path = e.path();
            fs::remove_dir_all(&path).map_err(BackupError::io("cannot remove", &path))?;
            removed.push(name);
        }
    }
    Ok(removed)
}

/// A fresh generation id from the current time: `20260131T235959123Z` (sorts by time).
pub fn new_id(dir: &Path) -> String {
    let base = chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ").to_string();
    let mut id = base.clone();
    let mut n = 1;
    while dir.join(&id).exists() {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

/// One generation as listed.
#[derive(Debug, Clone, Serialize)]
pub struct GenerationInfo {
    /// Its id (folder name).
    pub id: String,
    /// `backup` or `safety`.
    pub kind: String,
    /// When it was completed.
    pub created_at: String,
    /// Bytes of its files.
    pub total_bytes: u64,
    /// Bytes held only by this generation (not hard links shared with another).
    pub own_bytes: u64,
    /// Number of files.
    pub files: usize,
    /// The newest applied migration in the backed-up database.
    pub migration_version: Option<String>,
    /// Whether its manifest checksum holds (files are checked by `backup verify`).
    pub manifest_ok: bool,
}

/// Every generation, oldest first, and the growth.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Listing {
    /// The backup directory.
    pub dir: PathBuf,
    /// Generations, oldest first.
    pub generations: Vec<GenerationInfo>,
    /// Growth of the newest generation's size per 30 days, as a fraction (0.5 = 50 %).
    pub growth_per_month: Option<f64>,
    /// `backup-growth` when growth exceeds 50 % a month; `backup-invalid-generation` for folders
    /// that are not generations.
    pub findings: Vec<Finding>,
}

/// Folders of `dir` that hold a readable manifest, with it, ordered by manifest time.
pub fn generations(dir: &Path) -> Vec<(PathBuf, Manifest)> {
    let mut out = Vec::new();
    let Ok(read) = fs::read_dir(dir) else { return out };
    for e in read.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !e.path().is_dir() {
            continue;
        }
        if let Ok(Some(m)) = Manifest::read(&e.path()) {
            out.push((e.path(), m));
        }
    }
    out.sort_by(|a, b| (a.1.created_at.as_str(), a.1.id.as_str()).cmp(&(b.1.created_at.as_str(), b.1.id.as_str())));
    out
}

fn parse_time(t: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(t).ok().map(|d| d.with_timezone(&chrono::Utc))
}

/// Growth per 30 days between the oldest and newest of `(time, bytes)` (at least a day apart).
pub fn growth_per_month(points: &[(String, u64)]) -> Option<f64> {
    let (first, last) = (points.first()?, points.last()?);
    let (t0, t1) = (parse_time(&first.0)?, parse_time(&last.0)?);
    let days = (t1 - t0).num_seconds() as f64 / 86_400.0;
    if days < 1.0 || first.1 == 0 {
        return None;
    }
    Some((last.1 as f64 / first.1 as f64 - 1.0) * 30.0 / days)
}

/// List the generations of `dir`.
pub fn list_generations(dir: &Path) -> Listing {
    let mut listing = Listing { dir: dir.to_path_buf(), ..Listing::default() };
    if let Ok(read) = fs::read_dir(dir) {
        for e in read.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') && e.path().is_dir() && !matches!(Manifest::read(&e.path()), Ok(Some(_))) {
                listing.findings.push(
                    Finding::new(
                        "backup-invalid-generation",
                        Severity::Warning,
                        format!("{name} in the backup directory has no readable manifest and is not a generation"),
                    )
                    .at(Location::file(e.path()))
                    .help("it was not written by dbcheck (generations appear only when complete); move it away"),
                );
            }
        }
    }
    for (path, m) in generations(dir) {
        let own_bytes = m
            .files
            .iter()
            .filter(|f| fs::metadata(path.join(&f.path)).is_ok_and(|md| md.nlink() == 1))
            .map(|f| f.size)
            .sum();
        listing.generations.push(GenerationInfo {
            id: m.id.clone(),
            kind: m.kind.clone(),
            created_at: m.created_at.clone(),
            total_bytes: m.total_bytes(),
            own_bytes,
            files: m.files.len(),
            migration_version: m.migration_version.clone(),
            manifest_ok: m.compute_checksum() == m.checksum,
        });
    }
    let points: Vec<(String, u64)> = listing
        .generations
        .iter()
        .filter(|g| g.kind == "backup" && g.manifest_ok)
        .map(|g| (g.created_at.clone(), g.total_bytes))
        .collect();
    listing.growth_per_month = growth_per_month(&points);
    if let Some(g) = listing.growth_per_month
        && g > GROWTH_ALERT
    {
        listing.findings.push(
            Finding::new(
                "backup-growth",
                Severity::Warning,
                format!("backups grow by {:.0} % a month (alert above {:.0} %)", g * 100.0, GROWTH_ALERT * 100.0),
            )
            .at(Location::file(dir))
            .help("look for tables or uploads that grow unexpectedly, and check the space left for backups"),
        );
    }
    listing
}

/// Quick check used by retention: manifest checksum and every file present with its size.
fn quick_ok(path: &Path, m: &Manifest) -> bool {
    m.compute_checksum() == m.checksum
        && path.join(MANIFEST).is_file()
        && m.files.iter().all(|f| fs::metadata(path.join(&f.path)).is_ok_and(|md| md.len() == f.size))
}

/// Keep the newest `keep` generations of kind `backup` (ordered by manifest time) and delete the
/// older ones, but never the newest generation that checks out. Returns the ids deleted. A
/// generation is renamed to `.trash-<id>` before it is deleted, so it is never half listed.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<String>, BackupError> {
    let gens: Vec<(PathBuf, Manifest)> = generations(dir).into_iter().filter(|(_, m)| m.kind == "backup").collect();
    if gens.len() <= keep {
        return Ok(Vec::new());
    }
    let protected = gens.iter().rev().find(|(p, m)| quick_ok(p, m)).map(|(_, m)| m.id.clone());
    let mut removed = Vec::new();
    for (path, m) in &gens[..gens.len() - keep] {
        if Some(&m.id) == protected.as_ref() {
            continue;
        }
        let trash = dir.join(format!("{TRASH_PREFIX}{}", m.id));
        fs::rename(path, &trash).map_err(BackupError::io("cannot remove", path))?;
        copy::sync_dir(dir)?;
        fs::remove_dir_all(&trash).map_err(BackupError::io("cannot remove", &trash))?;
        removed.push(m.id.clone());
    }
    Ok(removed)
}

/// The folder of generation `id`.
pub fn find(dir: &Path, id: &str) -> Result<PathBuf, BackupError> {
    let valid = !id.is_empty() && !id.starts_with('.') && !id.contains('/') && !id.contains('\\');
    let path = dir.join(id);
    if valid && path.is_dir() {
        Ok(path)
    } else {
        Err(BackupError::UnknownGeneration { id: id.to_owned(), dir: dir.to_path_buf() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_scaled_to_thirty_days() {
        let pts = vec![("2026-01-01T00:00:00Z".to_owned(), 100), ("2026-01-16T00:00:00Z".to_owned(), 150)];
        let g = growth_per_month(&pts).unwrap();
        assert!((g - 1.0).abs() < 1e-9, "{g}");
        assert_eq!(growth_per_month(&pts[..1]), None);
        let same_day = vec![("2026-01-01T00:00:00Z".to_owned(), 100), ("2026-01-01T05:00:00Z".to_owned(), 900)];
        assert_eq!(growth_per_month(&same_day), None);
    }
}
