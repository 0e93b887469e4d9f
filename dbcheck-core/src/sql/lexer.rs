//! A forgiving SQL tokenizer: words, quoted identifiers, strings, numbers and punctuation, each
//! with its byte span in the statement, so expressions can be cut from the source text verbatim.
//! It never fails: unterminated quotes run to the end, unknown bytes become punctuation.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An unquoted word (keyword or identifier).
    Word,
    /// A `"quoted"` (or `` `quoted` `` / `[quoted]`) identifier.
    Quoted,
    /// A string literal (`'…'`, `E'…'`, `$tag$…$tag$`).
    Str,
    /// A number.
    Num,
    /// Punctuation or an operator (`(`, `)`, `,`, `.`, `::`, `>=`, …).
    Punct,
}

/// One token.
#[derive(Debug, Clone)]
pub struct Token {
    /// What it is.
    pub kind: Kind,
    /// Byte range in the statement text.
    pub start: usize,
    /// End of the byte range.
    pub end: usize,
    /// The identifier value (unquoted; unescaped) for words and quoted identifiers, the raw text
    /// otherwise.
    pub text: String,
}

impl Token {
    /// Whether it is the keyword `kw` (case-insensitive, unquoted).
    pub fn is(&self, kw: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(kw)
    }

    /// Whether it is the punctuation `p`.
    pub fn is_punct(&self, p: &str) -> bool {
        self.kind == Kind::Punct && self.text == p
    }
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// Tokenize `text` (comments are skipped).
pub fn tokenize(text: &str) -> Vec<Token> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 1;
            i += 2;
            while i < b.len() && depth > 0 {
                if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            continue;
        }
        let start = i;
        // E'…' strings with backslash escapes.
        if matches!(c, b'E' | b'e') && b.get(i + 1) == Some(&b'\'') {
            i = skip_string(b, i + 1, true);
            out.push(tok(text, Kind::Str, start, i, None));
            continue;
        }
        match c {
            b'\'' => {
                i = skip_string(b, i, false);
                out.push(tok(text, Kind::Str, start, i, None));
            }
            b'"' | b'`' | b'[' => {
                let close = if c == b'[' { b']' } else { c };
                let mut j = i + 1;
                let mut value = Vec::new();
                while j < b.len() {
                    if b[j] == close {
                        if close != b']' && b.get(j + 1) == Some(&close) {
                            value.push(close);
                            j += 2;
                            continue;
                        }
                        j += 1;
                        break;
                    }
                    value.push(b[j]);
                    j += 1;
                }
                i = j;
                let v = String::from_utf8_lossy(&value).into_owned();
                out.push(tok(text, Kind::Quoted, start, i, Some(v)));
            }
            b'$' if dollar_tag_end(b, i).is_some() => {
                let end = dollar_tag_end(b, i).unwrap_or(i + 1);
                let tag = &b[i..end];
                let mut j = end;
                i = b.len();
                while j + tag.len() <= b.len() {
                    if &b[j..j + tag.len()] == tag {
                        i = j + tag.len();
                        break;
                    }
                    j += 1;
                }
                out.push(tok(text, Kind::Str, start, i, None));
            }
            b'0'..=b'9' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                    if matches!(b[i], b'e' | b'E') && matches!(b.get(i + 1), Some(b'+' | b'-')) {
                        i += 1;
                    }
                    i += 1;
                }
                out.push(tok(text, Kind::Num, start, i, None));
            }
            _ if is_word_byte(c) => {
                while i < b.len() && is_word_byte(b[i]) {
                    i += 1;
                }
                // A multi-byte character must not be cut in half.
                while i < b.len() && !text.is_char_boundary(i) {
                    i += 1;
                }
                out.push(tok(text, Kind::Word, start, i, None));
            }
            _ => {
                const OPS: [&str; 12] = ["::", "<>", "!=", ">=", "<=", "||", "~*", "!~", "->", "=>", "~~", "@>"];
                let two = text.get(i..i + 2).filter(|s| OPS.contains(s));
                i += two.map_or(1, |_| 2);
                while i < b.len() && !text.is_char_boundary(i) {
                    i += 1;
                }
                out.push(tok(text, Kind::Punct, start, i, None));
            }
        }
    }
    out
}

fn tok(text: &str, kind: Kind, start: usize, end: usize, value: Option<String>) -> Token {
    let end = end.min(text.len());
    let raw = text.get(start..end).unwrap_or("");
    Token { kind, start, end, text: value.unwrap_or_else(|| raw.to_owned()) }
}

/// Index past the string literal whose opening quote is at `i`.
fn skip_string(b: &[u8], i: usize, backslash: bool) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        if backslash && b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j] == b'\'' {
            if b.get(j + 1) == Some(&b'\'') {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    b.len()
}

/// End of a `$tag$` opening at `i`, if one starts there.
fn dollar_tag_end(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && is_word_byte(b[i - 1]) {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
        j += 1;
    }
    (j < b.len() && b[j] == b'$' && !b.get(i + 1).is_some_and(u8::is_ascii_digit)).then_some(j + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_spans_and_values() {
        let t = tokenize("ALTER TABLE \"Ads\" -- x\n ADD CHECK (a >= 'it''s'::text) $f$ ; $f$");
        let texts: Vec<&str> = t.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            texts,
            ["ALTER", "TABLE", "Ads", "ADD", "CHECK", "(", "a", ">=", "'it''s'", "::", "text", ")", "$f$ ; $f$"]
        );
        assert_eq!(t[2].kind, Kind::Quoted);
        assert!(t[0].is("alter"));
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in ["'", "\"", "$", "$a$", "/*", "E'\\", "é'", "1e+", "[x", "€€ é $€$"] {
            let _ = tokenize(s);
        }
    }
}
