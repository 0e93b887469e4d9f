use dbcheck_macros::schema_guard;

#[schema_guard(table = "ads", exhaustive)]
struct AdSummary {
    id: i64,
    title: String,
}

#[schema_guard(table = "ads", insertable)]
struct NewAd {
    slug: Option<String>,
}

fn main() {}
