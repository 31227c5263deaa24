-- One way to run each cleanup step: the cleanup cron's batched versions (issue 7:
-- private.cleanup_fold_gig_views / cleanup_forget_gig_views, private.cleanup_rate_limit_counters, and
-- the invitation sweep in shared/services/cleanup_tasks.py). The unbatched functions from issues 3 and 6
-- had no caller left; each held a lock on every row it touched until it ended.
-- (Comments in earlier migrations that name them describe those migrations, not the schema now.)

drop function private.fold_gig_views();
drop function private.expire_invitations();
drop function private.purge_rate_limits();
