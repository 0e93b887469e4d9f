SET lock_timeout = '5s';
ALTER TABLE ads ADD CONSTRAINT ads_price_non_negative CHECK (price >= 0);
