//! `ignore` globs: files under the root that are not uploads (thumbnail caches, `.gitkeep`).
//!
//! A glob without `/` matches a name at any depth (`.gitkeep`, `*.tmp`, `cache/` for every folder
//! named `cache`); a glob with a `/` inside or at the start is anchored at the root (`thumbs/**`,
//! `/top.txt`); a trailing `/` means everything below that folder. `*` and
//! `?` never cross `/`; `**` does.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use super::walk::bytes_to_path;

/// Compile one glob the way `ignore` reads it.
pub fn compile_one(glob: &str) -> Result<Glob, globset::Error> {
    let anchored = glob.starts_with('/');
    let trimmed = glob.trim_start_matches('/');
    let (body, dir) = match trimmed.strip_suffix('/') {
        Some(d) => (d, true),
        None => (trimmed, false),
    };
    let mut pattern = if anchored || body.contains('/') { body.to_owned() } else { format!("**/{body}") };
    if dir {
        pattern.push_str("/**");
    }
    GlobBuilder::new(&pattern).literal_separator(true).backslash_escape(true).build()
}

/// The union of several entries' `ignore` globs.
#[derive(Debug, Clone)]
pub struct Ignore {
    set: GlobSet,
}

impl Ignore {
    /// Compile `globs` (already validated by the configuration).
    pub fn new<'a>(globs: impl IntoIterator<Item = &'a String>) -> Result<Self, globset::Error> {
        let mut b = GlobSetBuilder::new();
        for g in globs {
            b.add(compile_one(g)?);
        }
        Ok(Ignore { set: b.build()? })
    }

    /// Whether the file at `rel` (relative to the root, `/`-separated) is ignored.
    pub fn matches(&self, rel: &[u8]) -> bool {
        !self.set.is_empty() && self.set.is_match(bytes_to_path(rel).as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_gitignore() {
        let globs: Vec<String> = [".gitkeep", "cache/", "thumbs/**", "*.tmp", "/top.txt"].map(String::from).to_vec();
        let ig = Ignore::new(&globs).unwrap();
        for yes in [
            &b".gitkeep"[..],
            b"a/b/.gitkeep",
            b"cache/x/y.jpg",
            b"a/cache/x.jpg",
            b"thumbs/1.jpg",
            b"a/b.tmp",
            b"top.txt",
        ] {
            assert!(ig.matches(yes), "{}", String::from_utf8_lossy(yes));
        }
        for no in [&b"a.gitkeep"[..], b"cache", b"a/thumbs/1.jpg", b"a.jpg", b"a/top.txt"] {
            assert!(!ig.matches(no), "{}", String::from_utf8_lossy(no));
        }
        assert!(compile_one("a/[").is_err());
        assert!(!Ignore::new(&Vec::new()).unwrap().matches(b"x"));
    }
}
