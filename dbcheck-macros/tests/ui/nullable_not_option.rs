use dbcheck_macros::schema_guard;

#[schema_guard(table = "ads")]
struct Ad {
    id: i64,
    slug: String,
}

fn main() {}
