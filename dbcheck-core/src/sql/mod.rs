//! Static interpretation: the schema the migrations produce, computed in pure Rust from the SQL
//! files with no database — for the macro, build.rs and pre-commit hooks. Statements are split
//! (`replay::split_statements`, plus psql meta-commands), tokenized (`lexer`), and each one's
//! effect applied to a `Schema` (`interpret`), named and normalized as the server would. What may
//! change the schema but cannot be interpreted is an [`Unmodelled`] entry, never a guess.
//! Replay is the oracle: `compare` holds the form in which the two are compared.

mod compare;
mod interpret;
mod lexer;
mod oracle;
mod parser;

pub use compare::{comparable, comparable_expression, restrict_namespaces};
pub use interpret::{Interpreter, Origin, Statement, StaticSchema, Unmodelled, object_key, statements};
pub use lexer::{Kind as TokenKind, Token, tokenize};
pub use oracle::{mismatch_findings, static_disagreements, unmodelled_findings};
pub(crate) use parser::Cursor;

use crate::db::Dialect;
use crate::migrations::Discovery;
use crate::replay::replayed_migrations;

/// Interpret `discovery`'s migrations (the ones replay applies, in the same order) for `dialect`.
pub fn interpret_migrations(discovery: &Discovery, dialect: Dialect) -> StaticSchema {
    let mut interpreter = Interpreter::new(dialect);
    for m in replayed_migrations(discovery) {
        interpreter.apply_file(&m.path, &m.sql());
    }
    interpreter.finish()
}
