-- Rules (/api/v2/rules) and their configuration values (/api/v2/rules-configs,
-- sealed). Both are configuration: writes advance config_version.
CREATE TABLE rules (
    seq  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id   TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    doc  JSONB NOT NULL
);

CREATE TABLE rules_configs (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TRIGGER rules_bumps_config AFTER INSERT OR UPDATE OR DELETE ON rules FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER rules_configs_bumps_config AFTER INSERT OR UPDATE OR DELETE ON rules_configs FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
