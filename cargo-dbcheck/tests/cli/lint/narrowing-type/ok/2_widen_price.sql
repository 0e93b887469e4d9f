SET lock_timeout = '5s';
ALTER TABLE ads ALTER COLUMN price TYPE numeric(12, 2);
