use dbcheck_macros::schema_guard;

#[schema_guard(table = "ads", migrations = "sqlite", dialect = "sqlite")]
struct Ad {
    id: i64,
    title: i64,
    price: String,
    is_active: i32,
    created_at: f64,
    slug: String,
}

fn main() {}
