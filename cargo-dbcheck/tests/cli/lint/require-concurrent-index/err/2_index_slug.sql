CREATE INDEX ads_slug_idx ON ads (slug);
