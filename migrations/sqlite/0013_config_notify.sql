-- PostgreSQL announces configuration writes with NOTIFY from this version on.
-- SQLite has one writing process and no notifications: its nodes keep
-- polling config_version, so there is nothing to change here. The statement
-- only keeps the version numbers of the two dialects in step.
SELECT 1;
