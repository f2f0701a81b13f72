-- PostgreSQL moves its documents to JSONB in this version. SQLite keeps
-- them as TEXT: its JSON functions read text directly, and a schema version
-- means the same step in both dialects.
SELECT 1;
