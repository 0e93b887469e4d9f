//! A cursor over a statement's tokens with the small vocabulary the interpreter needs: keywords,
//! identifiers (folded per dialect), qualified names, balanced groups and verbatim expression text.

use super::lexer::{Kind, Token};
use crate::db::Dialect;

/// Why a statement could not be interpreted.
pub type Fail = String;

/// A cursor over `toks` (a slice of the statement's tokens) with the statement `text`.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    pub(crate) text: &'a str,
    pub(crate) toks: &'a [Token],
    pub(crate) i: usize,
    pub(crate) dialect: Dialect,
}

impl<'a> Cursor<'a> {
    /// A cursor at the first of `toks`.
    pub fn new(text: &'a str, toks: &'a [Token], dialect: Dialect) -> Self {
        Cursor { text, toks, i: 0, dialect }
    }

    /// A cursor over a sub-slice of tokens.
    pub fn sub(&self, toks: &'a [Token]) -> Cursor<'a> {
        Cursor { text: self.text, toks, i: 0, dialect: self.dialect }
    }

    /// The current token.
    pub fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.i)
    }

    /// The token `n` ahead.
    pub fn peek_at(&self, n: usize) -> Option<&'a Token> {
        self.toks.get(self.i + n)
    }

    /// Whether the input is used up.
    pub fn done(&self) -> bool {
        self.i >= self.toks.len()
    }

    /// Whether the current token is keyword `kw`.
    pub fn at(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| t.is(kw))
    }

    /// Whether the next tokens are the keywords `kws`.
    pub fn at_seq(&self, kws: &[&str]) -> bool {
        kws.iter().enumerate().all(|(n, kw)| self.peek_at(n).is_some_and(|t| t.is(kw)))
    }

    /// Consume keyword `kw` if present.
    pub fn eat(&mut self, kw: &str) -> bool {
        if self.at(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Consume the keywords `kws` if all present.
    pub fn eat_seq(&mut self, kws: &[&str]) -> bool {
        if self.at_seq(kws) {
            self.i += kws.len();
            true
        } else {
            false
        }
    }

    /// Consume punctuation `p` if present.
    pub fn eat_punct(&mut self, p: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_punct(p)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Require keyword `kw`.
    pub fn expect(&mut self, kw: &str) -> Result<(), Fail> {
        if self.eat(kw) { Ok(()) } else { Err(format!("expected {kw} {}", self.found())) }
    }

    /// "at …" / "at the end" for messages.
    pub fn found(&self) -> String {
        match self.peek() {
            Some(t) => format!("at `{}`", t.text.chars().take(40).collect::<String>()),
            None => "at the end of the statement".to_owned(),
        }
    }

    /// An identifier: unquoted words fold to lower case on PostgreSQL.
    pub fn ident(&mut self) -> Result<String, Fail> {
        match self.peek() {
            Some(t) if t.kind == Kind::Word => {
                self.i += 1;
                Ok(if self.dialect == Dialect::Postgres { t.text.to_lowercase() } else { t.text.clone() })
            }
            Some(t) if t.kind == Kind::Quoted => {
                self.i += 1;
                Ok(t.text.clone())
            }
            _ => Err(format!("expected a name {}", self.found())),
        }
    }

    /// A possibly qualified name `[namespace.]name`; the default namespace becomes `None`.
    pub fn qname(&mut self) -> Result<(Option<String>, String), Fail> {
        let first = self.ident()?;
        if self.eat_punct(".") {
            let second = self.ident()?;
            // A third part (database.schema.name) is not something migrations do.
            if self.peek().is_some_and(|t| t.is_punct(".")) {
                return Err("three-part names are not supported".to_owned());
            }
            let default = match self.dialect {
                Dialect::Postgres => first == "public",
                Dialect::Sqlite => first.eq_ignore_ascii_case("main"),
                Dialect::Mysql => false,
            };
            return Ok((if default { None } else { Some(first) }, second));
        }
        Ok((None, first))
    }

    /// The index of the `)` matching the `(` at the cursor, consuming the group; returns the
    /// token range strictly inside.
    pub fn group(&mut self) -> Result<std::ops::Range<usize>, Fail> {
        if !self.peek().is_some_and(|t| t.is_punct("(")) {
            return Err(format!("expected `(` {}", self.found()));
        }
        let open = self.i;
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            if t.is_punct("(") {
                depth += 1;
            } else if t.is_punct(")") {
                depth -= 1;
                if depth == 0 {
                    self.i += 1;
                    return Ok(open + 1..self.i - 1);
                }
            }
            self.i += 1;
        }
        Err("unbalanced parentheses".to_owned())
    }

    /// Advance over one balanced item (a token or a parenthesized group).
    pub fn skip_item(&mut self) {
        if self.peek().is_some_and(|t| t.is_punct("(")) {
            if self.group().is_err() {
                self.i = self.toks.len();
            }
        } else {
            self.i += 1;
        }
    }

    /// Advance until (not past) a token for which `stop` holds at depth 0; returns the range.
    pub fn until(&mut self, stop: impl Fn(&Cursor<'a>) -> bool) -> std::ops::Range<usize> {
        let start = self.i;
        while !self.done() && !stop(self) {
            self.skip_item();
        }
        start..self.i
    }

    /// The source text of tokens `range` (empty for an empty range).
    pub fn text_of(&self, range: std::ops::Range<usize>) -> &'a str {
        if range.start >= range.end || range.end > self.toks.len() {
            return "";
        }
        let (a, b) = (self.toks[range.start].start, self.toks[range.end - 1].end);
        self.text.get(a..b).unwrap_or("")
    }

    /// Split token `range` at top-level commas.
    pub fn split_commas(&self, range: std::ops::Range<usize>) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut depth = 0i32;
        let mut start = range.start;
        for i in range.clone() {
            let t = &self.toks[i];
            if t.is_punct("(") {
                depth += 1;
            } else if t.is_punct(")") {
                depth -= 1;
            } else if t.is_punct(",") && depth == 0 {
                out.push(start..i);
                start = i + 1;
            }
        }
        if start < range.end || !out.is_empty() {
            out.push(start..range.end);
        }
        out
    }

    /// A column list `(a, b DESC)`: the first identifier of each item.
    pub fn name_list(&mut self) -> Result<Vec<String>, Fail> {
        let inner = self.group()?;
        let mut out = Vec::new();
        for item in self.split_commas(inner) {
            let mut c = self.sub(&self.toks[item]);
            out.push(c.ident()?);
        }
        Ok(out)
    }

    /// A signed integer.
    pub fn integer(&mut self) -> Result<i64, Fail> {
        let neg = self.eat_punct("-");
        let _ = self.eat_punct("+");
        match self.peek() {
            Some(t) if t.kind == Kind::Num => {
                self.i += 1;
                let v: i64 = t.text.parse().map_err(|_| format!("`{}` is not an integer", t.text))?;
                Ok(if neg { -v } else { v })
            }
            _ => Err(format!("expected a number {}", self.found())),
        }
    }

    /// A string literal's value.
    pub fn string(&mut self) -> Result<String, Fail> {
        match self.peek() {
            Some(t) if t.kind == Kind::Str && t.text.starts_with('\'') => {
                self.i += 1;
                let inner = t.text.get(1..t.text.len().saturating_sub(1)).unwrap_or("");
                Ok(inner.replace("''", "'"))
            }
            _ => Err(format!("expected a string {}", self.found())),
        }
    }
}
