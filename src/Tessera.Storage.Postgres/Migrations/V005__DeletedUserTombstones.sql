-- Deleted users used to get the email 'deleted+{id}@deleted.invalid': a valid address that anyone could register
-- first, making the deletion fail on the unique index. Deleted users now get 'deleted:{id}', which has no '@' and which
-- registration can never produce.
UPDATE users
SET email = 'deleted:' || id
WHERE status = 'deleted' AND email = 'deleted+' || id || '@deleted.invalid';
