-- no-transaction
DROP INDEX CONCURRENTLY ads_slug_idx;
