ALTER TABLE ads ADD COLUMN slug TEXT;
CREATE UNIQUE INDEX ads_slug_key ON ads (slug);
