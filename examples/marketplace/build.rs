//! The build-time gate: the build fails when the migrations stop producing the schema declared in
//! db/schema.sql, and cargo re-runs this only when migrations, configuration or schema.sql change.

fn main() {
    dbcheck::build::check();
}
