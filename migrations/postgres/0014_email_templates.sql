-- The tenant's own email texts (the Management API's /email-templates),
-- one row per template name.
CREATE TABLE email_templates (
    seq  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    doc  JSONB NOT NULL
);
