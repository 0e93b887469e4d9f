CREATE VIEW reporting.last_week AS SELECT * FROM reporting.daily_sales WHERE day > now() - interval '7 days';
