-- The API picks new organizations' ids itself: INSERT ... RETURNING would need the new row to pass
-- the SELECT policy before the trigger has made the creator a member.
grant insert (id) on public.organizations to api_user;
