SET lock_timeout = '5s';
CREATE TABLE listings_draft (id bigint PRIMARY KEY);
ALTER TABLE listings_draft RENAME TO listings;
