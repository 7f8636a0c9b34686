-- Deleted users used to get the email 'deleted+{id}@deleted.invalid': a valid address that anyone could register
-- first, making the deletion fail on the unique index. Deleted users now get 'deleted:{id}', which has no '@' and which
-- registration can never produce. Numbered V004, not V003, so that it does not clash with a migration made alongside.
UPDATE users
SET email = 'deleted:' || id
WHERE status = 'deleted' AND email = 'deleted+' || id || '@deleted.invalid';
