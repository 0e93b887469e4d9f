SET lock_timeout = '5s';
BEGIN;
ALTER TABLE ads ADD COLUMN slug text;
UPDATE ads SET slug = lower(title);
COMMIT;
