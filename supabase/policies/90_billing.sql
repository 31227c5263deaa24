-- Billing: a user reads only their own subscription row (Stripe ids included, nobody else's).
-- No write policies: rows change only through the Stripe webhook (service_role) and the
-- private.* billing functions, each scoped to the caller's own row.
drop policy if exists subscriptions_select_own on public.subscriptions;
create policy subscriptions_select_own on public.subscriptions for select to authenticated
  using (user_id = (select auth.uid()));

-- public.stripe_events: RLS on and no policy at all: only service_role (which bypasses RLS) reads it.
