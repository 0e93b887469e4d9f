// Renames (#[column], serde), an enum column with its override, nullable slug as Option,
// an insertable struct that leaves defaulted columns out, and the attribute through a path.
use dbcheck_macros::schema_guard;

#[derive(Debug)]
enum AdStatus {
    Draft,
    Live,
    Sold,
}

#[schema_guard(table = "ads", schema = "public", exhaustive)]
struct Ad {
    #[column("id")]
    ad_id: i64,
    title: String,
    price: rust_decimal::Decimal,
    #[column(sql_type = "ad_status")]
    status: AdStatus,
    created_at: chrono::DateTime<chrono::Utc>,
    slug: Option<String>,
}

// serde's rename (with its derive, which must still see its own attributes).
#[derive(serde::Deserialize)]
#[schema_guard(table = "ads")]
struct AdTitle {
    #[serde(rename = "title")]
    headline: String,
    #[serde(rename(deserialize = "slug"))]
    handle: Option<String>,
}

#[dbcheck_macros::schema_guard(table = "ads", insertable)]
struct NewAd {
    id: Option<i64>,
    title: String,
    price: rust_decimal::Decimal,
    created_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn main() {
    // The struct is emitted unchanged: fields keep their names, types and order.
    let ad = NewAd { id: None, title: "bike".into(), price: rust_decimal::Decimal::ONE, created_at: None };
    assert_eq!(ad.title, "bike");
    let _ = (ad.id, ad.price, ad.created_at);
    let _: Option<Ad> = None;
    let t: AdTitle = serde_json::from_str(r#"{"title": "bike", "slug": null}"#).unwrap();
    assert_eq!((t.headline.as_str(), t.handle), ("bike", None));
    let _ = (AdStatus::Draft, AdStatus::Live, AdStatus::Sold);
}
