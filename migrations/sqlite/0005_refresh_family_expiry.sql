-- expires_at is when a refresh family dies: the earlier of its absolute and
-- idle expiry, in Unix microseconds; NULL when it has neither. The
-- background clean-up finds expired families by it. Existing families take
-- it from their documents (Go's zero time means no expiry).
ALTER TABLE refresh_families ADD COLUMN expires_at INTEGER;
UPDATE refresh_families SET expires_at = (
    SELECT MIN(at) FROM (
        SELECT CAST(unixepoch(json_extract(refresh_families.doc, '$.expires_at'), 'subsec') * 1000000 AS INTEGER) AS at
        WHERE json_extract(refresh_families.doc, '$.expires_at') NOT LIKE '0001-01-01%'
        UNION ALL
        SELECT CAST(unixepoch(json_extract(refresh_families.doc, '$.idle_expires_at'), 'subsec') * 1000000 AS INTEGER)
        WHERE json_extract(refresh_families.doc, '$.idle_expires_at') NOT LIKE '0001-01-01%'
    )
);
CREATE INDEX refresh_families_expires_at ON refresh_families (expires_at);
