-- Service clients (issue 10): the apps that introspect and revoke sessions at /oauth2. Secrets are kept only as their
-- SHA-256; after a rotation the previous one works until previous_secret_expires_at. Scopes are a space-separated list
-- of the scope names (introspect, revocations, revoke), as OAuth writes them.
CREATE TABLE service_clients (
    id                         text COLLATE "C" NOT NULL PRIMARY KEY,
    name                       text             NOT NULL,
    scopes                     text             NOT NULL,
    created_at                 timestamptz      NOT NULL,
    created_by                 text COLLATE "C" NOT NULL,
    secret_hash                bytea            NOT NULL CHECK (octet_length(secret_hash) = 32),
    previous_secret_hash       bytea            NULL CHECK (previous_secret_hash IS NULL OR octet_length(previous_secret_hash) = 32),
    previous_secret_expires_at timestamptz      NULL,
    rotated_at                 timestamptz      NULL,
    disabled_at                timestamptz      NULL
);

CREATE INDEX ix_service_clients_created ON service_clients (created_at, id);

-- A client ends sessions (POST /oauth2/revoke) and is named as the actor of their session.revoked events: the actor
-- kinds gain 'client'. Changing a constraint fires no row trigger, so the append-only triggers do not object.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_actor_kind_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_actor_kind_check
    CHECK (actor_kind IN ('user', 'admin', 'system', 'cli', 'client'));
