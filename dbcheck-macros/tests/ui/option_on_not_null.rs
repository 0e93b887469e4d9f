use dbcheck_macros::schema_guard;

#[schema_guard(table = "ads")]
struct Ad {
    id: i64,
    title: Option<String>,
}

fn main() {}
