use dbcheck_macros::schema_guard;

#[schema_guard(table = "adz")]
struct Ad {
    id: i64,
}

fn main() {}
