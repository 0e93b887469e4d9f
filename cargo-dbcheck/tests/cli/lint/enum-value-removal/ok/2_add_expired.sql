SET lock_timeout = '5s';
ALTER TYPE ad_status ADD VALUE 'expired';
