-- config_version changes with every write to the tables that describe the
-- tenant (applications, grants, APIs, connections, keys, settings), in the
-- writing transaction itself, so every node's cache of them can tell
-- cheaply whether it is still current.
CREATE TABLE config_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 0);

CREATE FUNCTION bump_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER clients_bumps_config AFTER INSERT OR UPDATE OR DELETE ON clients FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER client_grants_bumps_config AFTER INSERT OR UPDATE OR DELETE ON client_grants FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER resource_servers_bumps_config AFTER INSERT OR UPDATE OR DELETE ON resource_servers FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER connections_bumps_config AFTER INSERT OR UPDATE OR DELETE ON connections FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER signing_keys_bumps_config AFTER INSERT OR UPDATE OR DELETE ON signing_keys FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER tenant_settings_bumps_config AFTER INSERT OR UPDATE OR DELETE ON tenant_settings FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();

-- version counts the writes to a family, so an exchange can write it back
-- only if nothing else did since it was read (compare and swap).
ALTER TABLE refresh_families ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
