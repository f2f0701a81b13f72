-- Documents move from TEXT to JSONB, so they can be indexed and queried
-- (a user search by app_metadata, say) without a column per field. The
-- conversion parses each stored document once; JSONB keeps values, not
-- bytes: object keys come back in its own order and without duplicates.
ALTER TABLE clients ALTER COLUMN doc TYPE JSONB USING doc::jsonb;
ALTER TABLE client_grants ALTER COLUMN doc TYPE JSONB USING doc::jsonb;
ALTER TABLE resource_servers ALTER COLUMN doc TYPE JSONB USING doc::jsonb;
ALTER TABLE connections ALTER COLUMN doc TYPE JSONB USING doc::jsonb;
ALTER TABLE users ALTER COLUMN doc TYPE JSONB USING doc::jsonb;
ALTER TABLE refresh_families ALTER COLUMN doc TYPE JSONB USING doc::jsonb;
ALTER TABLE signing_keys ALTER COLUMN doc TYPE JSONB USING doc::jsonb;
ALTER TABLE tenant_settings ALTER COLUMN doc TYPE JSONB USING doc::jsonb;
