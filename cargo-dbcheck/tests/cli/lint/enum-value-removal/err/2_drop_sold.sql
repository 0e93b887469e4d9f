SET lock_timeout = '5s';
ALTER TYPE ad_status RENAME TO ad_status_old;
CREATE TYPE ad_status AS ENUM ('draft', 'live');
ALTER TABLE ads ALTER COLUMN status DROP DEFAULT;
ALTER TABLE ads ALTER COLUMN status TYPE ad_status USING status::text::ad_status;
ALTER TABLE ads ALTER COLUMN status SET DEFAULT 'draft';
DROP TYPE ad_status_old;
