SET LOCAL lock_timeout = '5s';
DROP INDEX ads_slug_idx;
