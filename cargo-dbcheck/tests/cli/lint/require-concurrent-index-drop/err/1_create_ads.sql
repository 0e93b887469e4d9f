CREATE TABLE ads (id bigint PRIMARY KEY, slug text);
CREATE INDEX ads_slug_idx ON ads (slug);
