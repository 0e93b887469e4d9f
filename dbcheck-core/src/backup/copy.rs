//! Copying files into a generation: hashed while copied, re-read when the source changed during
//! the copy, hard-linked from the previous generation when unchanged; several files at a time.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use sha2::{Digest as _, Sha256};

use super::{BackupError, FileEntry, Progress};

/// Attempts at copying a file that changes while it is read.
const ATTEMPTS: u32 = 3;

/// One file to copy: from `src` to `rel` inside the generation.
#[derive(Debug, Clone)]
pub(super) struct CopyJob {
    pub src: PathBuf,
    pub rel: String,
}

/// Why a source file was not copied (the backup then fails, naming it).
#[derive(Debug)]
pub(super) struct Unusable {
    pub src: PathBuf,
    pub reason: String,
}

/// Create `dir` and its parents with mode 0700.
pub(super) fn make_dirs(dir: &Path) -> Result<(), BackupError> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(BackupError::io("cannot create", dir))
}

fn mtime_ns(m: &fs::Metadata) -> i128 {
    i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec())
}

/// Write `bytes` to `path` (mode 0600) and return its entry.
pub(super) fn write_file(gen_dir: &Path, rel: &str, bytes: &[u8]) -> Result<FileEntry, BackupError> {
    let path = gen_dir.join(rel);
    if let Some(parent) = path.parent() {
        make_dirs(parent)?;
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(BackupError::io("cannot write", &path))?;
    f.write_all(bytes).map_err(BackupError::io("cannot write", &path))?;
    Ok(FileEntry {
        path: rel.to_owned(),
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
        source_mtime_ns: None,
    })
}

/// SHA-256 and size of a file.
pub(super) fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// Hash every file under `dir` (recursively) as entries named `prefix/…`.
pub(super) fn hash_tree(gen_dir: &Path, rel_dir: &str, out: &mut Vec<FileEntry>) -> Result<(), BackupError> {
    let dir = gen_dir.join(rel_dir);
    let mut names: Vec<_> = fs::read_dir(&dir)
        .map_err(BackupError::io("cannot read", &dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(BackupError::io("cannot read", &dir))?;
    names.sort();
    for name in names {
        let rel = format!("{rel_dir}/{}", name.to_string_lossy());
        let path = gen_dir.join(&rel);
        let meta = fs::symlink_metadata(&path).map_err(BackupError::io("cannot read", &path))?;
        if meta.is_dir() {
            hash_tree(gen_dir, &rel, out)?;
        } else {
            let (size, sha256) = hash_file(&path).map_err(BackupError::io("cannot read", &path))?;
            out.push(FileEntry { path: rel, size, sha256, source_mtime_ns: None });
        }
    }
    Ok(())
}

enum Copied {
    Done(FileEntry),
    Unusable(Unusable),
}

fn copy_one(
    job: &CopyJob,
    gen_dir: &Path,
    previous: Option<(&Path, &FileEntry)>,
    buf: &mut [u8],
    progress: &Progress,
) -> Result<Copied, BackupError> {
    let dst = gen_dir.join(&job.rel);
    if let Some(parent) = dst.parent() {
        make_dirs(parent)?;
    }
    for _ in 0..ATTEMPTS {
        let before = match fs::symlink_metadata(&job.src) {
            Ok(m) if m.file_type().is_file() => m,
            Ok(_) => {
                return Ok(Copied::Unusable(Unusable { src: job.src.clone(), reason: "not a regular file".into() }));
            }
            Err(e) => return Ok(Copied::Unusable(Unusable { src: job.src.clone(), reason: e.to_string() })),
        };
        let stamp = mtime_ns(&before);
        if let Some((prev_dir, prev)) = previous
            && prev.size == before.len()
            && prev.source_mtime_ns == Some(stamp)
            && fs::hard_link(prev_dir.join(&prev.path), &dst).is_ok()
        {
            progress.bytes_done.fetch_add(prev.size, Ordering::Relaxed);
            progress.files_done.fetch_add(1, Ordering::Relaxed);
            return Ok(Copied::Done(FileEntry { path: job.rel.clone(), ..prev.clone() }));
        }
        let mut src = match File::open(&job.src) {
            Ok(f) => f,
            Err(e) => return Ok(Copied::Unusable(Unusable { src: job.src.clone(), reason: e.to_string() })),
        };
        let _ = fs::remove_file(&dst);
        let mut out = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&dst)
            .map_err(BackupError::io("cannot write", &dst))?;
        // File to file, `io::copy` is a kernel-side copy (`copy_file_range`); the copy is then
        // hashed as read back, so the checksum is of the bytes the generation holds.
        let size = std::io::copy(&mut src, &mut out).map_err(BackupError::io("cannot copy", &job.src))?;
        out.seek(std::io::SeekFrom::Start(0)).map_err(BackupError::io("cannot read", &dst))?;
        let mut hasher = Sha256::new();
        loop {
            let n = out.read(buf).map_err(BackupError::io("cannot read", &dst))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let after_fd = src.metadata().map_err(BackupError::io("cannot read", &job.src))?;
        let after_path = fs::symlink_metadata(&job.src).ok();
        let unchanged = size == before.len()
            && after_fd.len() == size
            && mtime_ns(&after_fd) == stamp
            && after_path.is_some_and(|m| m.ino() == before.ino() && mtime_ns(&m) == stamp && m.len() == size);
        if unchanged {
            progress.bytes_done.fetch_add(size, Ordering::Relaxed);
            progress.files_done.fetch_add(1, Ordering::Relaxed);
            return Ok(Copied::Done(FileEntry {
                path: job.rel.clone(),
                size,
                sha256: hex::encode(hasher.finalize()),
                source_mtime_ns: Some(stamp),
            }));
        }
    }
    let _ = fs::remove_file(&dst);
    Err(BackupError::FileChanged { path: job.src.clone(), attempts: ATTEMPTS })
}

/// Copy every job into `gen_dir` on `threads` threads. `previous` is the newest earlier
/// generation's folder and its upload entries by path. Returns the entries and the sources that
/// could not be used.
pub(super) fn copy_all(
    jobs: &[CopyJob],
    gen_dir: &Path,
    previous: Option<(&Path, &HashMap<String, FileEntry>)>,
    progress: &Progress,
    threads: usize,
) -> Result<(Vec<FileEntry>, Vec<Unusable>), BackupError> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Vec<Result<Vec<(usize, Copied)>, BackupError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut buf = vec![0u8; 1 << 20];
                    let mut done = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        let prev = previous.and_then(|(dir, map)| map.get(&job.rel).map(|e| (dir, e)));
                        match copy_one(job, gen_dir, prev, &mut buf, progress) {
                            Ok(c) => done.push((i, c)),
                            Err(e) => {
                                stop.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                    Ok(done)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Ok(Vec::new()))).collect()
    });
    let mut all = Vec::with_capacity(jobs.len());
    for r in results {
        all.extend(r?);
    }
    all.sort_by_key(|(i, _)| *i);
    let mut entries = Vec::with_capacity(all.len());
    let mut unusable = Vec::new();
    for (_, c) in all {
        match c {
            Copied::Done(e) => entries.push(e),
            Copied::Unusable(u) => unusable.push(u),
        }
    }
    Ok((entries, unusable))
}

/// Flush everything under `dir` to disk: `sync -f` (one `syncfs`), else every file and folder.
pub(super) fn sync_tree(dir: &Path) -> Result<(), BackupError> {
    let ok = std::process::Command::new("sync").arg("-f").arg(dir).status().is_ok_and(|s| s.success());
    if ok {
        return Ok(());
    }
    fn walk(p: &Path) -> std::io::Result<()> {
        let meta = fs::symlink_metadata(p)?;
        if meta.is_dir() {
            for e in fs::read_dir(p)? {
                walk(&e?.path())?;
            }
        }
        File::open(p)?.sync_all()
    }
    walk(dir).map_err(BackupError::io("cannot flush", dir))
}

/// fsync a folder (after a rename inside it).
pub(super) fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(BackupError::io("cannot flush", dir))
}
