//! The rows the marketplace reads, as structs checked at compile time against the schema its
//! migrations produce (`#[dbcheck::schema_guard]`): renaming or dropping one of these columns in a
//! migration, or making one nullable, stops the build at the field. Read with plain sqlx queries.

use sqlx::{AnyConnection, Row};

/// An ad as the listing page shows it.
#[dbcheck::schema_guard(table = "ads")]
#[derive(Debug, Clone)]
pub struct AdListing {
    /// Primary key.
    pub id: i64,
    /// Never empty (a CHECK constraint since the 404 incident).
    pub title: String,
    /// The URL segment of the ad page.
    pub slug: String,
}

/// The primary image of an ad: a file under the uploads folder.
#[dbcheck::schema_guard(table = "ad_images")]
#[derive(Debug, Clone)]
pub struct AdImage {
    /// The ad it belongs to.
    pub ad_id: i64,
    /// Path under the uploads folder.
    pub file_path: String,
}

/// Every ad, newest first.
pub async fn listings(conn: &mut AnyConnection) -> Result<Vec<AdListing>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, title, slug FROM ads ORDER BY id DESC").fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| Ok(AdListing { id: r.try_get("id")?, title: r.try_get("title")?, slug: r.try_get("slug")? }))
        .collect()
}

/// The primary image of each ad that has one.
pub async fn primary_images(conn: &mut AnyConnection) -> Result<Vec<AdImage>, sqlx::Error> {
    let rows = sqlx::query("SELECT ad_id, file_path FROM ad_images WHERE is_primary ORDER BY ad_id")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok(AdImage { ad_id: r.try_get("ad_id")?, file_path: r.try_get("file_path")? })).collect()
}
