use dbcheck_macros::schema_guard;

#[schema_guard(table = "all_types")]
struct AllTypes {
    regular: i64,
    amount: f64,
    happened_at: chrono::NaiveDateTime,
    tags: Vec<i32>,
    ext_id: String,
}

fn main() {}
