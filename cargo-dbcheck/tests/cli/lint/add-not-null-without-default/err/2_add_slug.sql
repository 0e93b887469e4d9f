SET lock_timeout = '5s';
ALTER TABLE ads ADD COLUMN slug text NOT NULL;
