-- The ASP.NET Core Data Protection key ring, shared by every node (PostgresXmlRepository). The web console's antiforgery
-- tokens and one-shot notices are protected with these keys, so a form rendered by one node must be accepted by any
-- other: with a key ring per node, a load balancer without sticky sessions would turn every such post into a 400.
--
-- One row per XML element the key manager stores: a key ("key-{guid}") or a revocation ("revocation-..."). Elements are
-- written once and never changed; storing one again under the same name keeps the first.
--
-- The xml column holds key material: it is as secret as the database password. It is stored as the key manager hands
-- it over, which is unencrypted unless the operator configures key encryption at rest (ProtectKeysWith...). No trigger
-- notifies about this table, and nothing in Tessera reads it except the key manager.
CREATE TABLE data_protection_keys (
    friendly_name text        PRIMARY KEY,
    xml           text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
