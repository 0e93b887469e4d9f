-- no-transaction
-- Category pages sort by recency. CONCURRENTLY keeps ads writable while the index builds, and
-- cannot run inside a transaction: hence the marker on the first line.
CREATE INDEX CONCURRENTLY IF NOT EXISTS ads_category_created_idx ON ads (category_id, created_at DESC);
