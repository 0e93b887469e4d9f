ALTER TABLE ads ADD COLUMN headline text;
