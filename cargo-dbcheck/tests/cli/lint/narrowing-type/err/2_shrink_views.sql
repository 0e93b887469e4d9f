SET lock_timeout = '5s';
ALTER TABLE ads ALTER COLUMN views TYPE integer;
