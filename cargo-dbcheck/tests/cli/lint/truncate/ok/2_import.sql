SET lock_timeout = '5s';
CREATE TABLE import_staging (title text);
INSERT INTO import_staging VALUES ('a');
TRUNCATE import_staging;
