// The `time` crate's types, borrowed strings, and a subset of the columns (not exhaustive).
use dbcheck_macros::schema_guard;

#[schema_guard(table = "all_types")]
struct TimeTypes<'a> {
    day: time::Date,
    at_time: time::Time,
    local_at: time::PrimitiveDateTime,
    happened_at: time::OffsetDateTime,
    body: &'a str,
    note: Option<std::borrow::Cow<'a, str>>,
}

fn main() {
    let _ = std::mem::size_of::<TimeTypes<'static>>();
}
