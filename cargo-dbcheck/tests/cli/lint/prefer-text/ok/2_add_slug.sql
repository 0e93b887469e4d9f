SET lock_timeout = '5s';
ALTER TABLE ads ADD COLUMN slug text CONSTRAINT ads_slug_length CHECK (char_length(slug) <= 80);
