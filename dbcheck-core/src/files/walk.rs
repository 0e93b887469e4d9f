//! The filesystem side: a depth-first walk that yields every entry under the root in byte order
//! of its full relative path, without ever holding more than the directories on the current path.
//!
//! Each directory is read whole and sorted, with a subdirectory sorting as `name/`: every path
//! below `d` starts with `d/`, so its contents form one contiguous block that sorts exactly where
//! `d/` does among its siblings, and depth-first order equals byte order of the full path.
//!
//! **Invariant:** the walker never follows a symlink into a directory and never opens a file.
//! Symlinks are resolved with `realpath` (lstat/readlink only) to decide whether they stay inside
//! the root; one that leaves it is reported, never followed.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fs;
use std::path::{Component, Path, PathBuf};

use super::ignore::Ignore;

/// What the walker found at one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsKind {
    /// A regular file, or (`symlink`) a symlink to a regular file inside the root.
    File {
        /// Reached through a symlink inside the root.
        symlink: bool,
        /// Matched by an `ignore` glob.
        ignored: bool,
    },
    /// A directory, by its own name (its contents follow under `name/`).
    Dir,
    /// A FIFO, socket or device; the name of the kind.
    Special(&'static str),
    /// A symlink whose target is outside the root; the target, for the report.
    SymlinkEscape(String),
    /// A symlink inside the root whose target does not exist.
    BrokenSymlink,
    /// Key `name/`: the contents of a symlinked folder inside the root (not walked twice).
    OpaqueInside,
    /// Key `name/`: whatever lies behind a symlink that leaves the root (never walked).
    OpaqueEscape(String),
    /// Key `name/`: a folder that could not be read, with the reason.
    OpaqueUnreadable(String),
}

/// One entry: its full relative path (`/`-separated; opaque markers end in `/`) and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsEntry {
    /// Relative path bytes; the sort key.
    pub key: Vec<u8>,
    /// What it is.
    pub kind: FsKind,
}

/// The bytes of an OS string (raw bytes on Unix).
pub fn os_bytes(s: &OsStr) -> Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        Cow::Borrowed(s.as_bytes())
    }
    #[cfg(not(unix))]
    {
        match s.to_string_lossy() {
            Cow::Borrowed(t) => Cow::Borrowed(t.as_bytes()),
            Cow::Owned(t) => Cow::Owned(t.into_bytes()),
        }
    }
}

/// The bytes of an owned OS string, without copying on Unix.
fn os_into_bytes(s: std::ffi::OsString) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt as _;
        s.into_vec()
    }
    #[cfg(not(unix))]
    {
        s.to_string_lossy().into_owned().into_bytes()
    }
}

/// A path from relative path bytes (raw bytes on Unix).
pub fn bytes_to_path(b: &[u8]) -> Cow<'_, Path> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        Cow::Borrowed(Path::new(OsStr::from_bytes(b)))
    }
    #[cfg(not(unix))]
    {
        Cow::Owned(PathBuf::from(String::from_utf8_lossy(b).into_owned()))
    }
}

/// One sibling: the key suffix (`name` or `name/`) and what to do there.
enum Item {
    Leaf(FsKind),
    Descend,
}

struct Frame {
    prefix: Vec<u8>,
    items: std::vec::IntoIter<(Vec<u8>, Item)>,
}

/// Walks `root` (canonical) and hands entries to `emit` in batches of `batch`, in byte order of
/// their keys. `emit` returns `false` to stop early. Fails only when the root itself is unreadable.
pub fn walk(
    root: &Path,
    ignore: &Ignore,
    batch: usize,
    mut emit: impl FnMut(Vec<FsEntry>) -> bool,
) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(batch);
    let mut stack = vec![Frame { prefix: Vec::new(), items: read_sorted(root, root)?.into_iter() }];
    while let Some(top) = stack.last_mut() {
        let Some((suffix, item)) = top.items.next() else {
            stack.pop();
            continue;
        };
        let mut key = Vec::with_capacity(top.prefix.len() + suffix.len());
        key.extend_from_slice(&top.prefix);
        key.extend_from_slice(&suffix);
        match item {
            Item::Leaf(mut kind) => {
                if let FsKind::File { ignored, .. } = &mut kind {
                    *ignored = ignore.matches(&key);
                }
                out.push(FsEntry { key, kind });
            }
            Item::Descend => {
                let dir = root.join(bytes_to_path(&key[..key.len() - 1]));
                match read_sorted(root, &dir) {
                    Ok(items) => stack.push(Frame { prefix: key, items: items.into_iter() }),
                    Err(e) => out.push(FsEntry { key, kind: FsKind::OpaqueUnreadable(e.to_string()) }),
                }
            }
        }
        if out.len() >= batch && !emit(std::mem::replace(&mut out, Vec::with_capacity(batch))) {
            return Ok(());
        }
    }
    if !out.is_empty() {
        emit(out);
    }
    Ok(())
}

/// The sorted items of one directory.
fn read_sorted(root: &Path, dir: &Path) -> std::io::Result<Vec<(Vec<u8>, Item)>> {
    let mut items = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = os_into_bytes(entry.file_name());
        // Does not follow symlinks (d_type, or lstat when the filesystem has none).
        let ft = entry.file_type()?;
        let with_slash = |mut n: Vec<u8>| {
            n.push(b'/');
            n
        };
        if ft.is_dir() {
            items.push((with_slash(name.clone()), Item::Descend));
            items.push((name, Item::Leaf(FsKind::Dir)));
        } else if ft.is_file() {
            items.push((name, Item::Leaf(FsKind::File { symlink: false, ignored: false })));
        } else if ft.is_symlink() {
            let (leaf, opaque) = classify_symlink(root, &entry.path());
            if let Some(o) = opaque {
                items.push((with_slash(name.clone()), Item::Leaf(o)));
            }
            items.push((name, Item::Leaf(leaf)));
        } else {
            items.push((name, Item::Leaf(FsKind::Special(special_kind(&ft)))));
        }
    }
    items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(items)
}

fn special_kind(ft: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "a device";
        }
    }
    let _ = ft;
    "not a regular file"
}

/// A symlink's leaf kind and, when it leads to a folder (or out of the root), the opaque marker
/// for everything below it. Uses `realpath`, `stat` and `readlink` only; never opens the target.
pub(crate) fn classify_symlink(root: &Path, link: &Path) -> (FsKind, Option<FsKind>) {
    match fs::canonicalize(link) {
        Ok(target) if target.starts_with(root) => match fs::metadata(&target) {
            Ok(m) if m.is_dir() => (FsKind::Dir, Some(FsKind::OpaqueInside)),
            Ok(m) if m.is_file() => (FsKind::File { symlink: true, ignored: false }, None),
            Ok(m) => (FsKind::Special(special_kind(&m.file_type())), None),
            Err(_) => (FsKind::BrokenSymlink, None),
        },
        Ok(target) => {
            let t = target.display().to_string();
            (FsKind::SymlinkEscape(t.clone()), Some(FsKind::OpaqueEscape(t)))
        }
        Err(_) => {
            // Broken or looping: decide on the link text alone.
            let Ok(text) = fs::read_link(link) else { return (FsKind::BrokenSymlink, None) };
            let base = link.parent().unwrap_or(root);
            let lexical = normalize(&base.join(&text));
            if lexical.starts_with(root) {
                (FsKind::BrokenSymlink, None)
            } else {
                let t = text.display().to_string();
                (FsKind::SymlinkEscape(t.clone()), Some(FsKind::OpaqueEscape(t)))
            }
        }
    }
}

/// `path` with `.` and `..` removed lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;

    fn collect(root: &Path, ignore: &Ignore) -> Vec<FsEntry> {
        let mut all = Vec::new();
        walk(root, ignore, 3, |b| {
            all.extend(b);
            true
        })
        .unwrap();
        all
    }

    #[test]
    fn depth_first_order_is_byte_order_of_full_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        // Names chosen around '/' (0x2f): '-' and '.' sort before it, '0' and 'a' after it.
        let files = [
            "a",
            "a-b",
            "a.b",
            "ab",
            "a0",
            "b/c",
            "b-/x",
            "b.d",
            "b/c.d/e",
            "b/c-d",
            "b/cd/f",
            "c/a/b/c/d",
            "\u{e9}.jpg",
            "Z",
            "z/z",
            "z.",
            "z-",
        ];
        for f in files {
            let p = root.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, f).unwrap();
        }
        let none = Ignore::new(&Vec::new()).unwrap();
        let keys: Vec<Vec<u8>> = collect(&root, &none)
            .into_iter()
            .filter(|e| matches!(e.kind, FsKind::File { .. }))
            .map(|e| e.key)
            .collect();
        let mut expected: Vec<Vec<u8>> = files.iter().map(|f| f.as_bytes().to_vec()).collect();
        expected.sort();
        assert_eq!(keys, expected);
        // Every key, markers included, is strictly increasing.
        let all = collect(&root, &none);
        assert!(all.windows(2).all(|w| w[0].key < w[1].key));
    }

    #[test]
    fn symlinks_are_classified_and_never_followed_out() {
        let outside = tempfile::tempdir().unwrap();
        let outside_path = outside.path().canonicalize().unwrap();
        fs::write(outside_path.join("secret"), "s").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        fs::create_dir(root.join("real")).unwrap();
        fs::write(root.join("real/x.jpg"), "x").unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("alias")).unwrap();
        std::os::unix::fs::symlink("real/x.jpg", root.join("link.jpg")).unwrap();
        std::os::unix::fs::symlink(&outside_path, root.join("out")).unwrap();
        std::os::unix::fs::symlink(outside_path.join("secret"), root.join("secret.jpg")).unwrap();
        std::os::unix::fs::symlink("../../nowhere", root.join("broken-out")).unwrap();
        std::os::unix::fs::symlink("nowhere", root.join("broken-in")).unwrap();
        let none = Ignore::new(&Vec::new()).unwrap();
        let got: Vec<(String, FsKind)> =
            collect(&root, &none).into_iter().map(|e| (String::from_utf8(e.key).unwrap(), e.kind)).collect();
        let out = outside_path.display().to_string();
        let secret = outside_path.join("secret").display().to_string();
        assert_eq!(
            got,
            vec![
                ("alias".into(), FsKind::Dir),
                ("alias/".into(), FsKind::OpaqueInside),
                ("broken-in".into(), FsKind::BrokenSymlink),
                ("broken-out".into(), FsKind::SymlinkEscape("../../nowhere".into())),
                ("broken-out/".into(), FsKind::OpaqueEscape("../../nowhere".into())),
                ("link.jpg".into(), FsKind::File { symlink: true, ignored: false }),
                ("out".into(), FsKind::SymlinkEscape(out.clone())),
                ("out/".into(), FsKind::OpaqueEscape(out)),
                ("real".into(), FsKind::Dir),
                ("real/x.jpg".into(), FsKind::File { symlink: false, ignored: false }),
                ("secret.jpg".into(), FsKind::SymlinkEscape(secret.clone())),
                ("secret.jpg/".into(), FsKind::OpaqueEscape(secret)),
            ]
        );
    }

    #[test]
    fn fifos_are_special_and_ignored_files_flagged() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        fs::write(root.join(".gitkeep"), "").unwrap();
        let status = std::process::Command::new("mkfifo").arg(root.join("pipe")).status().unwrap();
        assert!(status.success());
        let ig = Ignore::new(&vec![".gitkeep".to_owned()]).unwrap();
        let got = collect(&root, &ig);
        assert_eq!(got[0], FsEntry { key: b".gitkeep".to_vec(), kind: FsKind::File { symlink: false, ignored: true } });
        assert_eq!(got[1], FsEntry { key: b"pipe".to_vec(), kind: FsKind::Special("a FIFO") });
    }
}
