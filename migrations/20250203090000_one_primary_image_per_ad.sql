-- Only one primary image per ad.
CREATE UNIQUE INDEX ad_images_one_primary_per_ad ON ad_images (ad_id) WHERE is_primary;
