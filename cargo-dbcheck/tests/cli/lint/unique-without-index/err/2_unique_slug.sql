SET LOCAL lock_timeout = '5s';
ALTER TABLE ads ADD CONSTRAINT ads_slug_key UNIQUE (slug);
