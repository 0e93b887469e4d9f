// All mismatches are reported at once, each at its own token.
use dbcheck_macros::schema_guard;

#[schema_guard(table = "ads", exhaustive)]
struct Ad {
    id: i32,
    title: Option<String>,
    slug: String,
    sluggish: String,
    #[column("id")]
    again: i64,
}

fn main() {}
