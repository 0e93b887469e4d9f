-- no-transaction
CREATE UNIQUE INDEX CONCURRENTLY ads_slug_key_idx ON ads (slug);
