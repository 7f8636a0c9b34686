-- Sign-in through a service client (issue 10): a relying app's own sign-in form calls POST /v1/auth/login with its
-- client's credentials and the visitor's address and user agent. The session records the client it was created through;
-- other clients may then learn only that it holds, and may not end it. NULL for sessions made directly, which every
-- session before this migration was (adding a nullable column rewrites nothing). Clients are never deleted (only
-- disabled), so the reference always resolves. The column is written once, at insert, like the device: the NOTIFY
-- trigger needs no change.
ALTER TABLE sessions ADD COLUMN client_id text COLLATE "C" NULL REFERENCES service_clients (id);
