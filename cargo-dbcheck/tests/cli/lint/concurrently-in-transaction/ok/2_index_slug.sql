-- no-transaction
CREATE INDEX CONCURRENTLY ads_slug_idx ON ads (slug);
