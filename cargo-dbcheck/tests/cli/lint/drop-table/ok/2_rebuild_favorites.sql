SET lock_timeout = '5s';
-- Rebuild: copy into a new table, drop the old one, take over its name.
CREATE TABLE favorites_new (id bigint PRIMARY KEY, ad_id bigint NOT NULL REFERENCES ads (id));
INSERT INTO favorites_new SELECT id, ad_id FROM favorites WHERE ad_id IS NOT NULL;
DROP TABLE favorites;
ALTER TABLE favorites_new RENAME TO favorites;
