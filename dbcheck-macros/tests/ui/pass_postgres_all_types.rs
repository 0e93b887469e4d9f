// Every PostgreSQL type mapping with chrono, rust_decimal and serde_json.
use dbcheck_macros::schema_guard;

#[derive(Debug)]
enum AdStatus {
    Draft,
}

struct Json<T>(T);

#[schema_guard(table = "all_types", exhaustive)]
struct AllTypes {
    small: i16,
    regular: i32,
    big: i64,
    flag: bool,
    ratio: f32,
    score: f64,
    amount: rust_decimal::Decimal,
    exact: bigdecimal::BigDecimal,
    name: String,
    code: String,
    body: Box<str>,
    data: Vec<u8>,
    day: chrono::NaiveDate,
    at_time: chrono::NaiveTime,
    local_at: chrono::NaiveDateTime,
    happened_at: chrono::DateTime<chrono::Utc>,
    ext_id: uuid::Uuid,
    doc: serde_json::Value,
    docb: Json<Vec<String>>,
    tags: Vec<String>,
    scores: Option<Vec<Option<i32>>>,
    #[column(sql_type = "ad_status[]")]
    statuses: Vec<AdStatus>,
    note: Option<String>,
}

fn main() {
    let _ = std::mem::size_of::<AllTypes>();
    let _ = Json(1).0;
    let _ = AdStatus::Draft;
}
