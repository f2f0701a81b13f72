-- expires_at is when a refresh family dies: the earlier of its absolute and
-- idle expiry, in Unix microseconds; NULL when it has neither. The
-- background clean-up finds expired families by it. Existing families take
-- it from their documents (Go's zero time means no expiry).
ALTER TABLE refresh_families ADD COLUMN expires_at BIGINT;
UPDATE refresh_families SET expires_at = LEAST(
    CASE WHEN doc->>'expires_at' IS NULL OR doc->>'expires_at' LIKE '0001-01-01%' THEN NULL
         ELSE (EXTRACT(EPOCH FROM (doc->>'expires_at')::timestamptz) * 1000000)::bigint END,
    CASE WHEN doc->>'idle_expires_at' IS NULL OR doc->>'idle_expires_at' LIKE '0001-01-01%' THEN NULL
         ELSE (EXTRACT(EPOCH FROM (doc->>'idle_expires_at')::timestamptz) * 1000000)::bigint END);
CREATE INDEX refresh_families_expires_at ON refresh_families (expires_at);
