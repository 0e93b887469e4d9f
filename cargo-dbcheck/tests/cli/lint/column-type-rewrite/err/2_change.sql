SET LOCAL lock_timeout = '5s';
ALTER TABLE ads ALTER COLUMN price TYPE bigint;
