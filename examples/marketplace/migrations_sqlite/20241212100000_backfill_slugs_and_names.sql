-- SQLite has no regexp_replace: slugs are lowercased titles with spaces turned into dashes.
UPDATE ads
SET slug = replace(lower(trim(coalesce(title, 'ad'))), ' ', '-') || '-' || id
WHERE slug IS NULL OR slug = '';

UPDATE ads SET title = 'Untitled ad' WHERE title IS NULL OR trim(title) = '';
UPDATE categories SET name = 'Uncategorized' WHERE name IS NULL OR trim(name) = '';
UPDATE ad_images SET file_path = 'missing.jpg' WHERE file_path IS NULL OR file_path = '';
