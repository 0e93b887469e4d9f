CREATE INDEX IF NOT EXISTS ads_category_created_idx ON ads (category_id, created_at DESC);
