-- Cleanup cron (issue 7), video calls: a scheduled call is taken as started at its scheduled time,
-- so one that nobody ended has started_at null and is found by scheduled_at. Together with issue
-- 4's video_calls_open_idx (instant calls, by started_at) this serves the cron's "end calls left
-- open too long" scan. (Timestamped after issue 4's migration, which creates the table.)
create index if not exists video_calls_unstarted_open_idx on public.video_calls (scheduled_at)
  where ended_at is null and started_at is null and scheduled_at is not null;
