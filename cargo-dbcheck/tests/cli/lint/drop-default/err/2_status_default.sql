SET lock_timeout = '5s';
ALTER TABLE ads ALTER COLUMN status DROP DEFAULT;
