-- Rows point at files under the uploads folder (apps/web/public/uploads).
CREATE TABLE ad_images (
    id         BIGSERIAL PRIMARY KEY,
    ad_id      BIGINT NOT NULL REFERENCES ads (id) ON DELETE CASCADE,
    file_path  TEXT,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX ad_images_ad_id_idx ON ad_images (ad_id);
