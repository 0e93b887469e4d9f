-- Constraints that would have prevented the 404s and the homepage crash. Added only after the
-- clean-up migration above, and as NOT VALID + VALIDATE so the table is not locked for a full scan.
ALTER TABLE ads ALTER COLUMN slug SET NOT NULL;
ALTER TABLE ads ADD CONSTRAINT ads_slug_not_empty CHECK (slug <> '') NOT VALID;
ALTER TABLE ads VALIDATE CONSTRAINT ads_slug_not_empty;
ALTER TABLE ads ADD CONSTRAINT ads_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*-[0-9]+$') NOT VALID;
ALTER TABLE ads VALIDATE CONSTRAINT ads_slug_format;

ALTER TABLE ads ALTER COLUMN title SET NOT NULL;
ALTER TABLE ads ADD CONSTRAINT ads_title_not_empty CHECK (trim(title) <> '');
ALTER TABLE ads ADD CONSTRAINT ads_price_non_negative CHECK (price >= 0);

ALTER TABLE categories ALTER COLUMN name SET NOT NULL;
ALTER TABLE categories ADD CONSTRAINT categories_name_not_empty CHECK (trim(name) <> '');

ALTER TABLE users ADD CONSTRAINT users_email_format
    CHECK (email ~* '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$');

ALTER TABLE ad_images ALTER COLUMN file_path SET NOT NULL;
ALTER TABLE ad_images ADD CONSTRAINT ad_images_path_not_empty CHECK (file_path <> '');
