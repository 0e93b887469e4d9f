//! Splitting a migration file into statements with their byte spans, so that replay runs them one
//! by one and a failure names the exact statement.

use std::ops::Range;

use crate::db::Dialect;

/// Byte ranges of the statements in `sql` (trimmed, without the terminating `;`, skipping empty
/// and comment-only ones). Understands quotes, comments, PostgreSQL dollar quoting, and the
/// `BEGIN … END` bodies of SQLite/MySQL triggers and routines.
pub fn split_statements(sql: &str, dialect: Dialect) -> Vec<Range<usize>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut depth = 0usize;
    // Whether the current statement is a compound one (trigger, function, procedure) whose
    // BEGIN … END body holds semicolons.
    let mut compound: Option<bool> = None;
    let mut has_code = false;
    while i < b.len() {
        let c = b[i];
        // Comments.
        if c == b'-' && b.get(i + 1) == Some(&b'-') || c == b'#' && dialect == Dialect::Mysql {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut nest = 1;
            i += 2;
            while i < b.len() && nest > 0 {
                if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    nest -= 1;
                    i += 2;
                } else if dialect == Dialect::Postgres && b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    nest += 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            continue;
        }
        if !c.is_ascii_whitespace() && c != b';' {
            has_code = true;
        }
        match c {
            b'\'' | b'"' | b'`' => {
                let backslash = dialect == Dialect::Mysql
                    || (c == b'\'' && i > 0 && matches!(b[i - 1], b'E' | b'e') && (i < 2 || !is_word(b[i - 2])));
                i = skip_quoted(b, i, backslash);
                continue;
            }
            b'$' if dialect == Dialect::Postgres && (i == 0 || !is_word(b[i - 1])) => {
                if let Some(end) = dollar_tag_end(b, i) {
                    let tag = &sql[i..end];
                    match sql[end..].find(tag) {
                        Some(close) => i = end + close + tag.len(),
                        None => i = b.len(),
                    }
                    continue;
                }
            }
            b';' if depth == 0 => {
                push(sql, start..i, has_code, &mut out);
                start = i + 1;
                compound = None;
                has_code = false;
            }
            c if is_word(c) && (i == 0 || !is_word(b[i - 1])) => {
                let mut j = i;
                while j < b.len() && is_word(b[j]) {
                    j += 1;
                }
                let word = sql[i..j].to_ascii_uppercase();
                if compound.is_none()
                    && !matches!(word.as_str(), "CREATE" | "OR" | "REPLACE" | "DEFINER" | "TEMP" | "TEMPORARY")
                {
                    compound = Some(
                        dialect != Dialect::Postgres
                            && matches!(word.as_str(), "TRIGGER" | "FUNCTION" | "PROCEDURE" | "EVENT")
                            && statement_starts_with_create(&sql[start..i]),
                    );
                }
                if compound == Some(true) {
                    match word.as_str() {
                        "BEGIN" | "CASE" => depth += 1,
                        // MySQL control flow (`IF … END IF`), but not the `IF(…)` function.
                        "IF" | "WHILE" | "LOOP" | "REPEAT"
                            if dialect == Dialect::Mysql && !sql[j..].trim_start().starts_with('(') =>
                        {
                            depth += 1
                        }
                        "END" => {
                            depth = depth.saturating_sub(1);
                            // `END IF`, `END LOOP`, … close what `END` closes.
                            let rest = sql[j..].trim_start();
                            let next: String = rest
                                .chars()
                                .take_while(|c| c.is_ascii_alphanumeric())
                                .collect::<String>()
                                .to_ascii_uppercase();
                            if matches!(next.as_str(), "IF" | "LOOP" | "WHILE" | "REPEAT" | "CASE") {
                                i = j + (sql[j..].len() - rest.len()) + next.len();
                                continue;
                            }
                        }
                        _ => {}
                    }
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    push(sql, start..b.len(), has_code, &mut out);
    out
}

fn statement_starts_with_create(prefix: &str) -> bool {
    prefix.split_whitespace().find(|w| !w.starts_with("--")).is_some_and(|w| w.eq_ignore_ascii_case("CREATE"))
}

fn push(sql: &str, range: Range<usize>, has_code: bool, out: &mut Vec<Range<usize>>) {
    if !has_code {
        return;
    }
    let text = &sql[range.clone()];
    // Leading comments belong to no statement: a span should point at the statement itself.
    let mut rest = text.trim_start();
    loop {
        if rest.starts_with("--") {
            rest = rest.find('\n').map_or("", |n| &rest[n + 1..]).trim_start();
        } else if rest.starts_with("/*") {
            rest = rest.find("*/").map_or("", |n| &rest[n + 2..]).trim_start();
        } else {
            break;
        }
    }
    let lead = text.len() - rest.len();
    let trail = text.len() - text.trim_end().len();
    if range.start + lead < range.end - trail {
        out.push(range.start + lead..range.end - trail);
    }
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Index past the quoted run starting at `start`; quotes double to escape, and with `backslash`
/// a backslash escapes the next byte.
fn skip_quoted(b: &[u8], start: usize, backslash: bool) -> usize {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if backslash && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// End (exclusive) of a `$tag$` opening at `i`, if one starts there.
fn dollar_tag_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
        j += 1;
    }
    if j < b.len() && b[j] == b'$' && !b[i + 1..j].first().is_some_and(u8::is_ascii_digit) { Some(j + 1) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(sql: &str, d: Dialect) -> Vec<&str> {
        split_statements(sql, d).into_iter().map(|r| &sql[r]).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql =
            "-- a; comment\nCREATE TABLE t (a text DEFAULT 'x;y'); /* ; */ INSERT INTO \"t;\" VALUES (1);\n\n-- end\n";
        assert_eq!(
            split(sql, Dialect::Postgres),
            ["CREATE TABLE t (a text DEFAULT 'x;y')", "INSERT INTO \"t;\" VALUES (1)"]
        );
        assert!(split("-- only a comment\n;;", Dialect::Postgres).is_empty());
        assert_eq!(split("SELECT 1", Dialect::Sqlite), ["SELECT 1"]);
    }

    #[test]
    fn dollar_quoted_bodies_stay_whole() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;\nSELECT $1;";
        let parts = split(sql, Dialect::Postgres);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(parts[0].ends_with("LANGUAGE plpgsql"));
        assert_eq!(split("SELECT E'it\\'s;'; SELECT 2", Dialect::Postgres).len(), 2);
    }

    #[test]
    fn trigger_bodies_stay_whole_in_sqlite_and_mysql() {
        let sql = "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET x = CASE WHEN 1 THEN 2 END; DELETE FROM c; END;\nSELECT 1;";
        let parts = split(sql, Dialect::Sqlite);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(parts[0].ends_with("END"));
        // A transaction BEGIN is not a block.
        assert_eq!(split("BEGIN; SELECT 1; COMMIT;", Dialect::Sqlite).len(), 3);
        let my = "CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; END; SELECT 'a\\';b';";
        assert_eq!(split(my, Dialect::Mysql).len(), 2, "{:?}", split(my, Dialect::Mysql));
    }
}
