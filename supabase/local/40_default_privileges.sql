-- Supabase's default privileges: every table, sequence and function postgres creates in public is
-- open to the API roles. This is why our migrations revoke what anon and authenticated must not have;
-- mirroring it locally means a missing revoke fails the tests here, not in production.
-- Supabase sets these once, when the project is created, and migrations then revoke parts of them.
-- Granting again on a re-run would undo those revokes, so only set them where none exist yet.
do $$
declare
  kind record;
begin
  for kind in select * from (values ('r', 'tables'), ('S', 'sequences'), ('f', 'functions')) as k (objtype, word)
  loop
    if not exists (
      select 1 from pg_default_acl
       where defaclrole = 'postgres'::regrole
         and defaclnamespace = 'public'::regnamespace
         and defaclobjtype = kind.objtype::"char"
    ) then
      execute format(
        'alter default privileges for role postgres in schema public grant all on %s to anon, authenticated, service_role',
        kind.word
      );
    end if;
  end loop;
end
$$;
