-- The native loopback flow of external sign-in (issue 13, RFC 8252): the one-time codes a desktop or CLI client receives
-- on its loopback redirect and exchanges, with its PKCE verifier, for a session. In the database rather than a node's
-- memory, so that the callback and the exchange may reach different nodes. Only the code's SHA-256 is kept; a code lives
-- a minute and is used once (used_at stays set so that a replay is told apart from an unknown code); rows of codes
-- expired an hour ago are deleted as new codes are written.
-- No NOTIFY trigger: a code decides nothing about a session that exists.
CREATE TABLE external_loopback_codes (
    code_hash      bytea            NOT NULL PRIMARY KEY CHECK (octet_length(code_hash) = 32),
    user_id        text COLLATE "C" NOT NULL REFERENCES users (id),
    provider       text COLLATE "C" NOT NULL,
    code_challenge text COLLATE "C" NOT NULL,
    created_at     timestamptz      NOT NULL,
    expires_at     timestamptz      NOT NULL,
    used_at        timestamptz      NULL
);

CREATE INDEX ix_external_loopback_codes_expires ON external_loopback_codes (expires_at);
