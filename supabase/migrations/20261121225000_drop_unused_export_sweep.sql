-- The cleanup cron's delete_expired_exports (shared/services/cleanup_tasks.py) is the one way expired
-- exports go: files first, then rows. This earlier rows-first helper had no caller left.
drop function if exists private.take_expired_exports(integer);
