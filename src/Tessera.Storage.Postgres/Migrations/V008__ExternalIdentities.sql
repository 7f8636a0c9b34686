-- Sign-in with Google and other OpenID Connect providers (issue 13). A person at a provider is known by the pair
-- (provider, subject), never by email. A link stays when its user is deleted, so that signing in again at the provider
-- finds the deleted account and is refused instead of creating a new one. refresh_token holds the provider's refresh
-- token protected with Data Protection (ciphertext, base64url), only for deployments that ask for offline access.
-- No NOTIFY trigger: a link decides nothing about a session that exists; it is read at sign-in, inside the write.
CREATE TABLE external_identities (
    provider      text COLLATE "C" NOT NULL,
    subject       text COLLATE "C" NOT NULL,
    user_id       text COLLATE "C" NOT NULL REFERENCES users (id),
    email         text             NULL,
    linked_at     timestamptz      NOT NULL,
    last_used_at  timestamptz      NULL,
    refresh_token text             NULL,
    PRIMARY KEY (provider, subject)
);

-- /account and the admin user page list a user's links.
CREATE INDEX ix_external_identities_user ON external_identities (user_id, linked_at);
