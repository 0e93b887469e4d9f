//! Stored values are data, not paths: this module decides whether a value may name a file under
//! the root at all. **Invariant:** a value that fails [`check_relative`] is never joined to the
//! root, never looked up and never opened.

use serde::Serialize;

/// Why a stored value is not a safe relative path. Each is its own finding class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathProblem {
    /// Contains a NUL byte.
    Nul,
    /// Contains a backslash (a Windows separator or an escape).
    Backslash,
    /// Absolute: starts with `/` or a drive letter such as `C:`.
    Absolute,
    /// Contains percent-encoded `.`, `/`, `\`, NUL, `%` or an overlong UTF-8 lead byte.
    Encoded,
    /// Has a `..` component.
    Traversal,
    /// Empty, or has an empty or `.` component (`a//b`, `a/`, `./a`).
    Invalid,
}

/// What a stored value resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A safe path relative to the root, `/`-separated.
    Rel(Vec<u8>),
    /// The value does not start with `strip_prefix`.
    PrefixMismatch,
    /// The value is not a safe relative path.
    Unsafe(PathProblem),
}

/// Percent-encodings that smuggle separators, dots, NULs, double encoding or overlong UTF-8.
fn suspicious_escape(hi: u8, lo: u8) -> bool {
    let byte = match (char::from(hi).to_digit(16), char::from(lo).to_digit(16)) {
        (Some(h), Some(l)) => h * 16 + l,
        _ => return false,
    };
    matches!(byte, 0x2e | 0x2f | 0x5c | 0x00 | 0x25 | 0xc0 | 0xc1)
}

/// Whether `rel` is a safe, canonical relative path: no NUL, no backslash, not absolute, no
/// suspicious percent-encoding, no `..`, no empty or `.` component. The first problem found, in
/// that order, is returned.
pub fn check_relative(rel: &[u8]) -> Result<(), PathProblem> {
    if rel.contains(&0) {
        return Err(PathProblem::Nul);
    }
    if rel.contains(&b'\\') {
        return Err(PathProblem::Backslash);
    }
    if rel.first() == Some(&b'/') || (rel.len() >= 2 && rel[0].is_ascii_alphabetic() && rel[1] == b':') {
        return Err(PathProblem::Absolute);
    }
    if rel.windows(3).any(|w| w[0] == b'%' && suspicious_escape(w[1], w[2])) {
        return Err(PathProblem::Encoded);
    }
    if rel.split(|&b| b == b'/').any(|c| c == b"..") {
        return Err(PathProblem::Traversal);
    }
    if rel.is_empty() || rel.split(|&b| b == b'/').any(|c| c.is_empty() || c == b".") {
        return Err(PathProblem::Invalid);
    }
    Ok(())
}

/// Turn a stored value into a path relative to the root: remove `strip_prefix`, check the rest,
/// then put it under `prefix` (already validated, without trailing `/`).
///
/// Removing a common prefix and prepending a constant both preserve byte order, so a stream of
/// values sorted byte-wise stays sorted after this mapping.
pub fn resolve(value: &[u8], strip_prefix: Option<&[u8]>, prefix: Option<&[u8]>) -> Resolved {
    let rest = match strip_prefix {
        Some(p) => match value.strip_prefix(p) {
            Some(rest) => rest,
            None => return Resolved::PrefixMismatch,
        },
        None => value,
    };
    if let Err(problem) = check_relative(rest) {
        return Resolved::Unsafe(problem);
    }
    match prefix {
        Some(p) if !p.is_empty() => {
            let mut rel = Vec::with_capacity(p.len() + 1 + rest.len());
            rel.extend_from_slice(p);
            rel.push(b'/');
            rel.extend_from_slice(rest);
            Resolved::Rel(rel)
        }
        _ => Resolved::Rel(rest.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_hostile_value_has_its_own_class() {
        let cases: &[(&[u8], PathProblem)] = &[
            (b"a/\0/b.jpg", PathProblem::Nul),
            (b"a\\b.jpg", PathProblem::Backslash),
            (b"..\\..\\etc\\passwd", PathProblem::Backslash),
            (b"/etc/passwd", PathProblem::Absolute),
            (b"C:/Windows/win.ini", PathProblem::Absolute),
            (b"%2e%2e/secret", PathProblem::Encoded),
            (b"a%2Fb", PathProblem::Encoded),
            (b"a%252e%252e/b", PathProblem::Encoded),
            (b"%c0%ae%c0%ae/x", PathProblem::Encoded),
            (b"a%5cb", PathProblem::Encoded),
            (b"../outside.txt", PathProblem::Traversal),
            (b"a/../../b", PathProblem::Traversal),
            (b"a/..", PathProblem::Traversal),
            (b"", PathProblem::Invalid),
            (b"a//b", PathProblem::Invalid),
            (b"a/", PathProblem::Invalid),
            (b"./a", PathProblem::Invalid),
            (b"a/./b", PathProblem::Invalid),
        ];
        for (value, expected) in cases {
            assert_eq!(check_relative(value), Err(*expected), "{}", String::from_utf8_lossy(value));
        }
    }

    #[test]
    fn ordinary_names_are_safe() {
        for ok in
            [&b"a.jpg"[..], b"ads/2024/07/x y.png", b"..a", b"a..", b"...", b"100%.jpg", b"a%20b.jpg", b"\xff\xfe"]
        {
            assert_eq!(check_relative(ok), Ok(()), "{}", String::from_utf8_lossy(ok));
        }
    }

    #[test]
    fn prefixes_are_stripped_and_prepended() {
        assert_eq!(resolve(b"/uploads/a.jpg", Some(b"/uploads/"), None), Resolved::Rel(b"a.jpg".to_vec()));
        assert_eq!(resolve(b"https://cdn/x.jpg", Some(b"/uploads/"), None), Resolved::PrefixMismatch);
        assert_eq!(resolve(b"a.jpg", None, Some(b"ads")), Resolved::Rel(b"ads/a.jpg".to_vec()));
        assert_eq!(
            resolve(b"/uploads/../x", Some(b"/uploads/"), Some(b"ads")),
            Resolved::Unsafe(PathProblem::Traversal)
        );
        assert_eq!(resolve(b"/uploads//etc/passwd", Some(b"/uploads/"), None), Resolved::Unsafe(PathProblem::Absolute));
    }

    #[test]
    fn mapping_preserves_byte_order() {
        let mut values: Vec<&[u8]> = vec![b"/u/a", b"/u/a.b", b"/u/a/b", b"/u/a-b", b"/u/ab", b"/u/b", b"/u/\xc3\xa9"];
        values.sort();
        let mapped: Vec<Vec<u8>> = values
            .iter()
            .map(|v| match resolve(v, Some(b"/u/"), Some(b"p")) {
                Resolved::Rel(r) => r,
                other => panic!("{other:?}"),
            })
            .collect();
        let mut sorted = mapped.clone();
        sorted.sort();
        assert_eq!(mapped, sorted);
    }
}
