-- Data clean-up after the 404 incident: every ad gets a slug, every category a name.
UPDATE ads
SET slug = concat(regexp_replace(lower(coalesce(title, 'ad')), '[^a-z0-9]+', '-', 'g'), '-', id)
WHERE slug IS NULL OR slug = '';

UPDATE ads SET title = 'Untitled ad' WHERE title IS NULL OR trim(title) = '';
UPDATE categories SET name = 'Uncategorized' WHERE name IS NULL OR trim(name) = '';
UPDATE ad_images SET file_path = 'missing.jpg' WHERE file_path IS NULL OR file_path = '';
