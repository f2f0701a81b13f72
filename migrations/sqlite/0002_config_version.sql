-- config_version changes with every write to the tables that describe the
-- tenant (applications, grants, APIs, connections, keys, settings), in the
-- writing transaction itself, so every node's cache of them can tell
-- cheaply whether it is still current.
CREATE TABLE config_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 0);

CREATE TRIGGER clients_insert_bumps_config AFTER INSERT ON clients BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER clients_update_bumps_config AFTER UPDATE ON clients BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER clients_delete_bumps_config AFTER DELETE ON clients BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER client_grants_insert_bumps_config AFTER INSERT ON client_grants BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER client_grants_update_bumps_config AFTER UPDATE ON client_grants BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER client_grants_delete_bumps_config AFTER DELETE ON client_grants BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER resource_servers_insert_bumps_config AFTER INSERT ON resource_servers BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER resource_servers_update_bumps_config AFTER UPDATE ON resource_servers BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER resource_servers_delete_bumps_config AFTER DELETE ON resource_servers BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER connections_insert_bumps_config AFTER INSERT ON connections BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER connections_update_bumps_config AFTER UPDATE ON connections BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER connections_delete_bumps_config AFTER DELETE ON connections BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER signing_keys_insert_bumps_config AFTER INSERT ON signing_keys BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER signing_keys_update_bumps_config AFTER UPDATE ON signing_keys BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER signing_keys_delete_bumps_config AFTER DELETE ON signing_keys BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenant_settings_insert_bumps_config AFTER INSERT ON tenant_settings BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenant_settings_update_bumps_config AFTER UPDATE ON tenant_settings BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenant_settings_delete_bumps_config AFTER DELETE ON tenant_settings BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;

-- version counts the writes to a family, so an exchange can write it back
-- only if nothing else did since it was read (compare and swap).
ALTER TABLE refresh_families ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
