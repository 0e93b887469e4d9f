CREATE TYPE ad_status AS ENUM ('draft', 'live', 'sold');
CREATE TABLE ads (id bigint PRIMARY KEY, status ad_status NOT NULL DEFAULT 'draft');
