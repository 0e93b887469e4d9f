// Every SQLite mapping (type affinity plus the declared names sqlx gives meaning to).
use dbcheck_macros::schema_guard;

struct Json<T>(T);

#[schema_guard(table = "all_types", migrations = "sqlite", dialect = "sqlite", exhaustive)]
struct AllTypes {
    i: i64,
    i2: i32,
    b: u8,
    flag: bool,
    r: f32,
    d: f64,
    n: f64,
    dec: rust_decimal::Decimal,
    t: String,
    v: String,
    blob_data: Vec<u8>,
    day: chrono::NaiveDate,
    tm: chrono::NaiveTime,
    dt: chrono::NaiveDateTime,
    ts: chrono::DateTime<chrono::Utc>,
    u_text: uuid::Uuid,
    u_blob: uuid::Uuid,
    u: uuid::Uuid,
    j: serde_json::Value,
    jt: Json<Vec<i64>>,
    note: Option<String>,
}

#[schema_guard(table = "ads", migrations = "sqlite", dialect = "sqlite", exhaustive)]
struct Ad {
    id: i64,
    title: String,
    price: f64,
    is_active: bool,
    created_at: time::PrimitiveDateTime,
    slug: Option<String>,
}

#[schema_guard(table = "ads", migrations = "sqlite", dialect = "sqlite", insertable)]
struct NewAd {
    title: String,
    price: bigdecimal::BigDecimal,
}

fn main() {
    let _ = std::mem::size_of::<AllTypes>() + std::mem::size_of::<Ad>() + std::mem::size_of::<NewAd>();
    let _ = Json(1).0;
}
