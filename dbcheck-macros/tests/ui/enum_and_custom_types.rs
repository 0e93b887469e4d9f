use dbcheck_macros::schema_guard;

enum AdStatus {
    Draft,
}

struct AdId(i64);

#[schema_guard(table = "ads")]
struct Ad {
    id: AdId,
    status: AdStatus,
    #[column(sql_type = "integer")]
    price: rust_decimal::Decimal,
}

fn main() {}
