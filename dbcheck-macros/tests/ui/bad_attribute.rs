use dbcheck_macros::schema_guard;

#[schema_guard(table = "ads", exhaustve, dialect = "oracle")]
struct Ad {
    #[column(nme = "id")]
    id: i64,
}

#[schema_guard]
struct NoTable {
    id: i64,
}

#[schema_guard(table = "ads")]
enum NotAStruct {
    A,
}

fn main() {}
