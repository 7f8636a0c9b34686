-- The native loopback flow of external sign-in (issue 13, RFC 8252): the one-time codes a desktop or CLI client receives
-- on its loopback redirect and exchanges, with its PKCE verifier, for a session. Only the code's SHA-256 is kept; a code
-- lives a minute and is used once (used_at stays set so that a replay is told apart from an unknown code); rows of codes
-- expired an hour ago are deleted as new codes are written.
CREATE TABLE external_loopback_codes (
    code_hash      BLOB    NOT NULL PRIMARY KEY CHECK (length(code_hash) = 32),
    user_id        TEXT    NOT NULL REFERENCES users (id),
    provider       TEXT    NOT NULL,
    code_challenge TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX ix_external_loopback_codes_expires ON external_loopback_codes (expires_at);
