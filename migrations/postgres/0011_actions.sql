-- Actions (/api/v2/actions/actions), their deployed versions and the
-- triggers' bindings. Secret values are sealed inside the documents. All of
-- it is configuration: writes advance config_version.
CREATE TABLE actions (
    seq  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id   TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    doc  JSONB NOT NULL
);

CREATE TABLE action_versions (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    action_id TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    number    INTEGER NOT NULL,
    doc       JSONB NOT NULL,
    UNIQUE (action_id, number)
);

CREATE TABLE action_bindings (
    trigger_id TEXT NOT NULL,
    position   INTEGER NOT NULL,
    id         TEXT NOT NULL UNIQUE,
    action_id  TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    doc        JSONB NOT NULL,
    PRIMARY KEY (trigger_id, position)
);

CREATE TRIGGER actions_bumps_config AFTER INSERT OR UPDATE OR DELETE ON actions FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER action_versions_bumps_config AFTER INSERT OR UPDATE OR DELETE ON action_versions FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER action_bindings_bumps_config AFTER INSERT OR UPDATE OR DELETE ON action_bindings FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
