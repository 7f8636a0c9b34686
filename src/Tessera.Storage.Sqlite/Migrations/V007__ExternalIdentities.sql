-- Sign-in with Google and other OpenID Connect providers (issue 13). A person at a provider is known by the pair
-- (provider, subject), never by email. A link stays when its user is deleted, so that signing in again at the provider
-- finds the deleted account and is refused instead of creating a new one. refresh_token holds the provider's refresh
-- token protected with Data Protection (ciphertext, base64url), only for deployments that ask for offline access.
CREATE TABLE external_identities (
    provider      TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    user_id       TEXT    NOT NULL REFERENCES users (id),
    email         TEXT    NULL,
    linked_at     INTEGER NOT NULL,
    last_used_at  INTEGER NULL,
    refresh_token TEXT    NULL,
    PRIMARY KEY (provider, subject)
) STRICT;

-- /account and the admin user page list a user's links.
CREATE INDEX ix_external_identities_user ON external_identities (user_id, linked_at);
