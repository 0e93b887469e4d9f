use dbcheck_macros::schema_guard;

#[schema_guard(table = "ads")]
struct Ad {
    id: i64,
    titel: String,
    #[column("headline")]
    title: String,
}

fn main() {}
