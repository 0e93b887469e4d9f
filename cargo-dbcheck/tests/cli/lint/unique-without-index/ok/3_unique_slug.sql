ALTER TABLE ads ADD CONSTRAINT ads_slug_key UNIQUE USING INDEX ads_slug_key_idx;
