-- Gig search and gig reads at scale (bench/RESULTS.md, "Why the misses").
--
-- 1. "May the caller manage THIS gig?" in O(1). private.can_manage_gig() used to materialise
--    private.managed_gig_ids() (every gig the caller manages: 5,600 rows for a heavy poster) on every
--    GET /gigs/{id} (private.record_gig_view) and every status move of an application. It now reads the
--    one gig by primary key. THE rule for "may manage a gig" (issue 6, unchanged): its poster, or an
--    admin or owner of the gig's organization (private.org_ids_for('admin') = admin and owner roles).
--    private.can_manage_gig() is the single definition services and triggers use; the gigs policies
--    (supabase/policies/30_gigs.sql) inline the same predicate on the row itself, and
--    private.managed_gig_ids() (the applications policies) is its set form. Change the three together.
create or replace function private.can_manage_gig(p_gig_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.gigs g
    where g.id = p_gig_id
      and (g.poster_id = (select auth.uid()) or g.organization_id in (select private.org_ids_for('admin')))
  )
$$;
revoke all on function private.can_manage_gig(uuid) from public;
grant execute on function private.can_manage_gig(uuid) to anon, authenticated, api_user, service_role;

-- 2. The search planner. The tag arrays are short and skewed (a few very common skills, a long tail);
--    a larger sample gives the planner better most-common-element statistics for && estimates, so it
--    can tell a rare tag (GIN bitmap first) from a frequent one (walk the newest index).
alter table public.gigs alter column skills_required set statistics 1000;
alter table public.gigs alter column ai_tools_preferred set statistics 1000;
alter table public.gigs alter column search_vector set statistics 1000;

-- 3. Budget filters. The listing walks the newest-first index and keeps matching gigs; with the two
--    budget columns in the index that walk (and the capped count, which stops at 10,001 matches) is
--    index only: a budget range at 1M gigs was ~60 ms of heap fetches, now ~10 ms. Same name and order
--    as before, so nothing else changes.
drop index public.gigs_active_newest_idx;
create index gigs_active_newest_idx on public.gigs (published_at desc, id desc) include (budget_min, budget_max)
  where status = 'active';
--    And statistics on the two budget expressions the filters compare (the expression indexes are
--    partial, so the planner does not take its estimates from them): an amount no gig reaches is
--    estimated as rare and answered from gigs_active_budget_high_idx / _low_idx, not by a walk.
create statistics if not exists public.gigs_budget_high_stats on (coalesce(budget_max, budget_min)) from public.gigs;
create statistics if not exists public.gigs_budget_low_stats on (coalesce(budget_min, budget_max)) from public.gigs;
analyze public.gigs;
