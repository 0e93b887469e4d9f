//! The comparison engine: per root, a k-way merge of the entries' reference streams (each sorted
//! byte-wise by the database) joined against the sorted walk of the folder.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;

use super::fix::{EntryFix, FixTarget, FixWriter};
use super::ignore::Ignore;
use super::path::check_relative;
use super::quarantine::{Quarantine, open_regular, sha256_of};
use super::report::{Class, DEFAULT_SAMPLES, EntryReport, FilesReport, RootReport, Sample, Tally};
use super::walk::{FsEntry, FsKind, bytes_to_path, walk};
use super::{FilesEntry, FilesError, Progress};
use crate::db::{ConnectOptions, DatabaseUrl, DbError, ParentQuery, RefQuery, RefRow, connect};

/// How to run a check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// How to connect (read-only is right: `files` never writes to the database).
    pub connect: ConnectOptions,
    /// "Now", for the grace period.
    pub now: SystemTime,
    /// Samples kept per class.
    pub samples: usize,
    /// Write the fix script (and the full list) here.
    pub fix: Option<FixTarget>,
    /// Move orphans into this folder.
    pub quarantine: Option<PathBuf>,
    /// Counters for a progress display.
    pub progress: Option<Arc<Progress>>,
}

impl CheckOptions {
    /// Report only, now, with default samples.
    pub fn new(connect: ConnectOptions) -> Self {
        CheckOptions {
            connect,
            now: SystemTime::now(),
            samples: DEFAULT_SAMPLES,
            fix: None,
            quarantine: None,
            progress: None,
        }
    }
}

/// Entries per walk batch.
const WALK_BATCH: usize = 2048;
/// Bytes of walk entries the walker may run ahead of the merge. The database sends nothing until
/// it has sorted every row; this read-ahead lets the walk overlap that sort instead of stalling
/// after a few batches. A constant, so memory stays bounded whatever the number of files.
const WALK_AHEAD_BYTES: usize = 64 << 20;

/// Bytes of walk entries in flight, and the walker waiting for room.
#[derive(Default)]
struct Budget {
    /// Bytes in flight, and whether the merge has stopped reading.
    used: std::sync::Mutex<(usize, bool)>,
    room: std::sync::Condvar,
}

impl Budget {
    /// Wait until `bytes` more fit (or nothing is in flight), then take them; `false` when the
    /// merge has stopped and the walk should too.
    fn take(&self, bytes: usize) -> bool {
        let Ok(mut used) = self.used.lock() else { return false };
        while !used.1 && used.0 > 0 && used.0 + bytes > WALK_AHEAD_BYTES {
            used = match self.room.wait(used) {
                Ok(g) => g,
                Err(_) => return false,
            };
        }
        used.0 += bytes;
        !used.1
    }

    fn give(&self, bytes: usize) {
        if let Ok(mut used) = self.used.lock() {
            used.0 = used.0.saturating_sub(bytes);
        }
        self.room.notify_one();
    }

    fn close(&self) {
        if let Ok(mut used) = self.used.lock() {
            used.1 = true;
        }
        self.room.notify_one();
    }
}

fn batch_bytes(batch: &[FsEntry]) -> usize {
    batch.iter().map(|e| std::mem::size_of::<FsEntry>() + e.key.capacity()).sum()
}

/// One root folder and the entries pointing into it.
struct Group {
    root: PathBuf,
    canon: PathBuf,
    entries: Vec<usize>,
    grace: u64,
}

/// Per-entry state while streaming.
struct EntryState {
    key: String,
    strip: Option<Vec<u8>>,
    prefix: Option<Vec<u8>>,
    size_check: bool,
    hash_check: bool,
    references: u64,
    ok: u64,
    tally: Tally,
}

#[derive(Default)]
struct RootState {
    files: u64,
    referenced: u64,
    ignored: u64,
    tally: Tally,
}

/// Where a reference's path relative to the root lives.
enum Rel {
    /// The stored value from this offset (after `strip_prefix`): no copy per row.
    Tail(usize),
    /// `prefix/` + the rest, when a `prefix` is configured.
    Owned(Vec<u8>),
}

/// The next safe reference of one stream.
struct Head {
    rel: Rel,
    entry: usize,
    row: RefRow,
}

impl Head {
    fn rel(&self) -> &[u8] {
        match &self.rel {
            Rel::Tail(start) => &self.row.value[*start..],
            Rel::Owned(v) => v,
        }
    }
}

/// Check every entry: references against files, per root, in one streaming pass each.
pub async fn check_files(
    url: &DatabaseUrl,
    entries: &[FilesEntry],
    opts: &CheckOptions,
) -> Result<FilesReport, FilesError> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let root_err = |source| FilesError::Root { root: e.root.clone(), entry: e.label(), source };
        let canon = fs::canonicalize(&e.root).map_err(root_err)?;
        if !canon.is_dir() {
            return Err(root_err(std::io::Error::other("not a folder")));
        }
        match groups.iter_mut().find(|g| g.canon == canon) {
            Some(g) => {
                g.entries.push(i);
                g.grace = g.grace.max(e.grace_secs());
            }
            None => groups.push(Group { root: e.root.clone(), canon, entries: vec![i], grace: e.grace_secs() }),
        }
    }
    let canon_roots: Vec<PathBuf> = groups.iter().map(|g| g.canon.clone()).collect();
    let cutoffs: Vec<SystemTime> = groups
        .iter()
        .map(|g| opts.now.checked_sub(Duration::from_secs(g.grace)).unwrap_or(SystemTime::UNIX_EPOCH))
        .collect();
    let mut quarantine = opts.quarantine.as_deref().map(|d| Quarantine::open(d, &canon_roots)).transpose()?;

    let mut dbs = vec![connect(url, &opts.connect).await?];
    let mut states = Vec::with_capacity(entries.len());
    let mut fixes = Vec::with_capacity(entries.len());
    for e in entries {
        let c = &e.config;
        let key = match &c.key {
            Some(k) => k.clone(),
            None => dbs[0].primary_key(&c.table).await?.ok_or_else(|| FilesError::NoKey { table: c.table.clone() })?,
        };
        let parent = match &c.parent {
            Some(p) => {
                let pk = match &p.key {
                    Some(k) => k.clone(),
                    None => dbs[0]
                        .primary_key(&p.table)
                        .await?
                        .ok_or_else(|| FilesError::NoKey { table: p.table.clone() })?,
                };
                Some((p.column.clone(), p.table.clone(), pk))
            }
            None => None,
        };
        fixes.push(EntryFix {
            table: c.table.clone(),
            column: c.column.clone(),
            key: key.clone(),
            on_dangling: c.on_dangling.unwrap_or_default(),
            on_parent_missing: c.on_parent_missing.unwrap_or_default(),
            parent,
        });
        states.push(EntryState {
            key,
            strip: c.strip_prefix.as_ref().map(|s| s.as_bytes().to_vec()),
            prefix: c.prefix.as_ref().map(|p| p.trim_end_matches('/').as_bytes().to_vec()).filter(|p| !p.is_empty()),
            size_check: c.size_column.is_some(),
            hash_check: c.sha256_column.is_some(),
            references: 0,
            ok: 0,
            tally: Tally::new(opts.samples),
        });
    }
    let redacted = url.redacted();
    let mut fix = match &opts.fix {
        Some(t) => Some(FixWriter::open(t, url.dialect(), &redacted, fixes.clone())?),
        None => None,
    };

    // Rows whose parent is gone: one anti-join per entry, streamed.
    for (i, e) in entries.iter().enumerate() {
        let Some((child_column, parent_table, parent_key)) = &fixes[i].parent else { continue };
        let q = ParentQuery { child: ref_query(e, &states[i].key), child_column, parent_table, parent_key };
        let mut rows = dbs[0].rows_without_parent(&q);
        while let Some(row) = rows.next().await {
            let row = row?;
            let st = &mut states[i];
            st.tally.add(Class::ParentMissing, || sample(&row, None));
            if let Some(f) = &mut fix {
                f.row(i, Class::ParentMissing, &row.key, &row.value, None)?;
            }
        }
    }

    let mut roots = Vec::with_capacity(groups.len());
    for (gi, g) in groups.iter().enumerate() {
        while dbs.len() < g.entries.len() {
            dbs.push(connect(url, &opts.connect).await?);
        }
        for db in dbs.iter_mut().take(g.entries.len()) {
            db.prepare_file_scan().await?;
        }
        let ignore = Ignore::new(g.entries.iter().flat_map(|&i| entries[i].config.ignore.iter())).map_err(|e| {
            FilesError::Root {
                root: g.root.clone(),
                entry: entries[g.entries[0]].label(),
                source: std::io::Error::other(e),
            }
        })?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Vec<FsEntry>)>();
        let budget = Arc::new(Budget::default());
        let walker_budget = budget.clone();
        let canon = g.canon.clone();
        let progress = opts.progress.clone();
        let walker = std::thread::Builder::new()
            .name("dbcheck-walk".into())
            .spawn(move || {
                walk(&canon, &ignore, WALK_BATCH, |batch| {
                    if let Some(p) = &progress {
                        p.files.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    }
                    let bytes = batch_bytes(&batch);
                    walker_budget.take(bytes) && tx.send((bytes, batch)).is_ok()
                })
            })
            .map_err(|source| FilesError::Root {
                root: g.root.clone(),
                entry: entries[g.entries[0]].label(),
                source,
            })?;

        let queries: Vec<RefQuery<'_>> = g.entries.iter().map(|&i| ref_query(&entries[i], &states[i].key)).collect();
        let streams: Vec<BoxStream<'_, Result<RefRow, DbError>>> =
            dbs.iter_mut().zip(&queries).map(|(db, q)| db.file_refs(q)).collect();
        let mut root = RootState { tally: Tally::new(opts.samples), ..RootState::default() };
        let mut merge = Merge {
            canon: &g.canon,
            group: gi,
            cutoff: cutoffs[gi],
            ids: &g.entries,
            entries,
            states: &mut states,
            root: &mut root,
            fix: &mut fix,
            quarantine: &mut quarantine,
            progress: opts.progress.as_deref(),
            database: &redacted,
            walk: WalkRx { rx, budget: budget.clone(), batch: Vec::new().into_iter() },
            streams,
            rows_unreported: 0,
        };
        let merged = merge.run().await;
        drop(merge);
        let walked = walker.join();
        merged?;
        match walked {
            Ok(Ok(())) => {}
            Ok(Err(source)) => {
                return Err(FilesError::Root { root: g.root.clone(), entry: entries[g.entries[0]].label(), source });
            }
            Err(_) => {
                return Err(FilesError::Root {
                    root: g.root.clone(),
                    entry: entries[g.entries[0]].label(),
                    source: std::io::Error::other("the folder walk panicked"),
                });
            }
        }
        roots.push(RootReport {
            root: g.root.clone(),
            entries: g.entries.clone(),
            files: root.files,
            referenced: root.referenced,
            ignored: root.ignored,
            classes: root.tally.into_sorted(),
        });
    }
    for db in dbs {
        db.close().await;
    }

    let mut report = FilesReport {
        entries: entries
            .iter()
            .zip(states)
            .map(|(e, st)| EntryReport {
                index: e.index,
                table: e.config.table.clone(),
                column: e.config.column.clone(),
                root: e.root.clone(),
                key: st.key,
                references: st.references,
                ok: st.ok,
                classes: st.tally.into_sorted(),
            })
            .collect(),
        roots,
        ..FilesReport::default()
    };
    if let Some(f) = fix {
        report.fix = Some(f.finish()?);
    }
    if let Some(q) = quarantine {
        report.quarantine = Some(q.execute(&canon_roots, &cutoffs, opts.samples)?);
    }
    report.build_findings();
    Ok(report)
}

fn ref_query<'a>(e: &'a FilesEntry, key: &'a str) -> RefQuery<'a> {
    let c = &e.config;
    RefQuery {
        table: &c.table,
        column: &c.column,
        key,
        filter: c.filter.as_deref(),
        size_column: c.size_column.as_deref(),
        sha256_column: c.sha256_column.as_deref(),
    }
}

fn sample(row: &RefRow, detail: Option<String>) -> Sample {
    Sample { key: Some(row.key.clone()), value: String::from_utf8_lossy(&row.value).into_owned(), detail }
}

/// The stored SHA-256 as lowercase hex, if it is one (`\x` prefix of PostgreSQL `bytea` allowed).
fn normalize_sha(stored: &str) -> Option<String> {
    let s = stored.trim();
    let s = s.strip_prefix("\\x").unwrap_or(s).to_ascii_lowercase();
    (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then_some(s)
}

/// The receiving end of the walker thread.
struct WalkRx {
    rx: tokio::sync::mpsc::UnboundedReceiver<(usize, Vec<FsEntry>)>,
    budget: Arc<Budget>,
    batch: std::vec::IntoIter<FsEntry>,
}

impl Drop for WalkRx {
    fn drop(&mut self) {
        // Wake a walker waiting for room: nobody will read what it sends.
        self.budget.close();
    }
}

impl WalkRx {
    async fn next(&mut self) -> Option<FsEntry> {
        loop {
            if let Some(e) = self.batch.next() {
                return Some(e);
            }
            let (bytes, batch) = self.rx.recv().await?;
            self.budget.give(bytes);
            self.batch = batch.into_iter();
        }
    }
}

/// One root's merge join.
struct Merge<'a, 's> {
    canon: &'a Path,
    group: usize,
    cutoff: SystemTime,
    ids: &'a [usize],
    entries: &'a [FilesEntry],
    states: &'a mut [EntryState],
    root: &'a mut RootState,
    fix: &'a mut Option<FixWriter>,
    quarantine: &'a mut Option<Quarantine>,
    progress: Option<&'a Progress>,
    database: &'a str,
    walk: WalkRx,
    streams: Vec<BoxStream<'s, Result<RefRow, DbError>>>,
    rows_unreported: u64,
}

impl Merge<'_, '_> {
    async fn run(&mut self) -> Result<(), FilesError> {
        let mut heads = Vec::with_capacity(self.streams.len());
        for j in 0..self.streams.len() {
            heads.push(self.pull(j).await?);
        }
        let mut w = self.walk.next().await;
        let mut w_refs = 0u64;
        let mut prev: Option<Head> = None;
        loop {
            let min = heads
                .iter()
                .enumerate()
                .filter_map(|(j, h)| h.as_ref().map(|h: &Head| (j, h.rel())))
                .min_by(|a, b| a.1.cmp(b.1))
                .map(|(j, _)| j);
            let Some(j) = min else {
                match w.take() {
                    Some(we) => {
                        self.finish_entry(we, w_refs)?;
                        w_refs = 0;
                        w = self.walk.next().await;
                        continue;
                    }
                    None => break,
                }
            };
            if let Some(we) = &w {
                let rel = heads[j].as_ref().map_or(&[][..], Head::rel);
                let opaque_prefix = is_opaque(&we.kind) && rel.starts_with(&we.key);
                if we.key.as_slice() < rel && !opaque_prefix {
                    if let Some(we) = w.take() {
                        self.finish_entry(we, w_refs)?;
                    }
                    w_refs = 0;
                    w = self.walk.next().await;
                    continue;
                }
            }
            let Some(head) = heads[j].take() else { continue };
            heads[j] = self.pull(j).await?;
            if let Some(p) = &prev {
                if head.rel() < p.rel() {
                    return Err(self.out_of_order(head.entry, "rows arrived out of byte order"));
                }
                if head.rel() == p.rel() {
                    self.row_class(
                        head.entry,
                        Class::DuplicateReference,
                        &head.row,
                        Some("another row references it too".into()),
                    )?;
                }
            }
            match &w {
                Some(we) if we.key == head.rel() => {
                    w_refs += 1;
                    self.matched(&head, &we.kind)?;
                }
                Some(we) if is_opaque(&we.kind) && head.rel().starts_with(&we.key) => {
                    self.under_opaque(&head, &we.kind)?
                }
                _ => self.row_class(head.entry, Class::Missing, &head.row, None)?,
            }
            prev = Some(head);
        }
        if let Some(p) = self.progress {
            p.rows.fetch_add(std::mem::take(&mut self.rows_unreported), Ordering::Relaxed);
        }
        Ok(())
    }

    fn out_of_order(&self, entry: usize, what: &str) -> FilesError {
        let e = &self.entries[entry];
        FilesError::Db(DbError::Query {
            url: self.database.to_owned(),
            context: format!("reading file references from {}", e.label()),
            reason: format!("{what}: the database did not sort byte-wise, so the comparison would be wrong"),
        })
    }

    /// The next reference of stream `j` that is a safe path; unsafe and foreign values are
    /// recorded on the way.
    async fn pull(&mut self, j: usize) -> Result<Option<Head>, FilesError> {
        let entry = self.ids[j];
        while let Some(row) = self.streams[j].next().await {
            let row = row?;
            self.rows_unreported += 1;
            if self.rows_unreported >= 4096
                && let Some(p) = self.progress
            {
                p.rows.fetch_add(std::mem::take(&mut self.rows_unreported), Ordering::Relaxed);
            }
            // The same mapping as `path::resolve`, without copying the value. Stream order is
            // checked on the merged paths in `run` (a stream out of order makes them decrease).
            let st = &mut self.states[entry];
            st.references += 1;
            let start = match &st.strip {
                Some(p) if row.value.starts_with(p) => p.len(),
                Some(_) => {
                    self.row_class(entry, Class::PrefixMismatch, &row, None)?;
                    continue;
                }
                None => 0,
            };
            if let Err(p) = check_relative(&row.value[start..]) {
                self.row_class(entry, Class::UnsafePath(p), &row, None)?;
                continue;
            }
            let rel = match &st.prefix {
                Some(p) => {
                    let mut v = Vec::with_capacity(p.len() + 1 + row.value.len() - start);
                    v.extend_from_slice(p);
                    v.push(b'/');
                    v.extend_from_slice(&row.value[start..]);
                    Rel::Owned(v)
                }
                None => Rel::Tail(start),
            };
            return Ok(Some(Head { rel, entry, row }));
        }
        Ok(None)
    }

    fn row_class(
        &mut self,
        entry: usize,
        class: Class,
        row: &RefRow,
        detail: Option<String>,
    ) -> Result<(), FilesError> {
        if let Some(f) = self.fix.as_mut() {
            f.row(entry, class, &row.key, &row.value, detail.as_deref())?;
        }
        self.states[entry].tally.add(class, || sample(row, detail));
        Ok(())
    }

    fn root_class(&mut self, class: Class, rel: &[u8], detail: Option<String>) -> Result<(), FilesError> {
        if let Some(f) = self.fix.as_mut() {
            f.file(self.canon, class, rel, detail.as_deref())?;
        }
        self.root.tally.add(class, || Sample { key: None, value: String::from_utf8_lossy(rel).into_owned(), detail });
        Ok(())
    }

    /// A walk entry no later reference can match any more.
    fn finish_entry(&mut self, we: FsEntry, refs: u64) -> Result<(), FilesError> {
        match we.kind {
            FsKind::File { ignored, .. } => {
                self.root.files += 1;
                if refs > 0 {
                    self.root.referenced += 1;
                } else if ignored {
                    self.root.ignored += 1;
                } else {
                    let path = self.canon.join(bytes_to_path(&we.key));
                    // lstat only; a file that vanished since the walk is no orphan.
                    let Ok(meta) = fs::symlink_metadata(&path) else { return Ok(()) };
                    let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    if mtime > self.cutoff {
                        self.root_class(Class::InFlight, &we.key, None)?;
                    } else {
                        self.root_class(Class::Orphan, &we.key, Some(format!("{} bytes", meta.len())))?;
                        if let Some(q) = self.quarantine.as_mut()
                            && meta.is_file()
                        {
                            q.spool(self.group, &we.key)?;
                        }
                    }
                }
            }
            FsKind::Special(kind) => self.root_class(Class::NotRegular, &we.key, Some(kind.to_owned()))?,
            FsKind::BrokenSymlink => self.root_class(Class::NotRegular, &we.key, Some("a broken symlink".into()))?,
            FsKind::SymlinkEscape(target) => {
                self.root_class(Class::SymlinkEscape, &we.key, Some(format!("symlink to {target}")))?
            }
            FsKind::OpaqueUnreadable(err) => {
                let dir = &we.key[..we.key.len().saturating_sub(1)];
                self.root_class(Class::Unreadable, dir, Some(err))?
            }
            FsKind::Dir | FsKind::OpaqueInside | FsKind::OpaqueEscape(_) => {}
        }
        Ok(())
    }

    /// A reference whose path the walk found.
    fn matched(&mut self, head: &Head, kind: &FsKind) -> Result<(), FilesError> {
        match kind {
            FsKind::File { symlink: false, .. } => {
                let path = self.canon.join(bytes_to_path(head.rel()));
                self.verify(head, &path)
            }
            FsKind::File { symlink: true, .. } => self.resolve_inside(head),
            FsKind::Dir => self.row_class(head.entry, Class::NotRegular, &head.row, Some("a directory".into())),
            FsKind::Special(k) => self.row_class(head.entry, Class::NotRegular, &head.row, Some((*k).to_owned())),
            FsKind::SymlinkEscape(t) => {
                self.row_class(head.entry, Class::SymlinkEscape, &head.row, Some(format!("symlink to {t}")))
            }
            FsKind::BrokenSymlink => {
                self.row_class(head.entry, Class::Missing, &head.row, Some("a broken symlink".into()))
            }
            FsKind::OpaqueInside | FsKind::OpaqueEscape(_) | FsKind::OpaqueUnreadable(_) => {
                self.row_class(head.entry, Class::Missing, &head.row, None)
            }
        }
    }

    /// A reference below a folder the walk did not enter.
    fn under_opaque(&mut self, head: &Head, kind: &FsKind) -> Result<(), FilesError> {
        match kind {
            FsKind::OpaqueEscape(t) => {
                self.row_class(head.entry, Class::SymlinkEscape, &head.row, Some(format!("through a symlink to {t}")))
            }
            FsKind::OpaqueUnreadable(e) => self.row_class(head.entry, Class::Unreadable, &head.row, Some(e.clone())),
            _ => self.resolve_inside(head),
        }
    }

    /// A reference through a symlink that stays inside the root: resolve it (realpath, never
    /// opening anything) and check the real file.
    fn resolve_inside(&mut self, head: &Head) -> Result<(), FilesError> {
        let path = self.canon.join(bytes_to_path(head.rel()));
        match fs::canonicalize(&path) {
            Ok(real) if real.starts_with(self.canon) => match fs::metadata(&real) {
                Ok(m) if m.is_file() => self.verify(head, &real),
                Ok(m) if m.is_dir() => {
                    self.row_class(head.entry, Class::NotRegular, &head.row, Some("a directory".into()))
                }
                Ok(_) => self.row_class(head.entry, Class::NotRegular, &head.row, Some("not a regular file".into())),
                Err(e) => self.row_class(head.entry, Class::Unreadable, &head.row, Some(e.to_string())),
            },
            Ok(real) => self.row_class(
                head.entry,
                Class::SymlinkEscape,
                &head.row,
                Some(format!("resolves to {}", real.display())),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.row_class(head.entry, Class::Missing, &head.row, None)
            }
            Err(e) => self.row_class(head.entry, Class::Unreadable, &head.row, Some(e.to_string())),
        }
    }

    /// Stored size and hash against the file at `real` (a path through no symlink).
    fn verify(&mut self, head: &Head, real: &Path) -> Result<(), FilesError> {
        let st = &self.states[head.entry];
        let mut problem: Option<(Class, String)> = None;
        if st.size_check
            && let Some(stored) = &head.row.size
        {
            match fs::symlink_metadata(real) {
                Ok(m) => match stored.trim().parse::<u64>() {
                    Ok(s) if s == m.len() => {}
                    Ok(s) => problem = Some((Class::SizeMismatch, format!("stored {s} bytes, file has {}", m.len()))),
                    Err(_) => {
                        problem = Some((Class::SizeMismatch, format!("stored size {stored:?} is not a byte count")))
                    }
                },
                Err(e) => problem = Some((Class::Unreadable, e.to_string())),
            }
        }
        if problem.is_none()
            && st.hash_check
            && let Some(stored) = &head.row.sha256
        {
            match normalize_sha(stored) {
                None => {
                    problem =
                        Some((Class::HashMismatch, format!("stored value {stored:?} is not a SHA-256 hex digest")))
                }
                Some(expected) => match open_regular(real).and_then(sha256_of) {
                    Ok((_, actual)) if actual == expected => {}
                    Ok((_, actual)) => {
                        problem = Some((Class::HashMismatch, format!("stored {expected}, file has {actual}")))
                    }
                    Err(e) => problem = Some((Class::Unreadable, e.to_string())),
                },
            }
        }
        match problem {
            None => {
                self.states[head.entry].ok += 1;
                Ok(())
            }
            Some((class, detail)) => self.row_class(head.entry, class, &head.row, Some(detail)),
        }
    }
}

fn is_opaque(kind: &FsKind) -> bool {
    matches!(kind, FsKind::OpaqueInside | FsKind::OpaqueEscape(_) | FsKind::OpaqueUnreadable(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_hashes_are_normalized() {
        let h = "A".repeat(64);
        assert_eq!(normalize_sha(&h), Some("a".repeat(64)));
        assert_eq!(normalize_sha(&format!("\\x{}", "0".repeat(64))), Some("0".repeat(64)));
        assert_eq!(normalize_sha("abc"), None);
    }
}
