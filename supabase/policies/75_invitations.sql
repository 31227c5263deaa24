-- Invitations: the organization's admins see and manage them; the invited user (by verified email)
-- sees their own. Accepting and declining go through private.respond_to_invitation.

drop policy if exists invitations_select on public.invitations;
create policy invitations_select on public.invitations for select to authenticated
  using (
    organization_id in (select private.org_ids_for('admin'))
    or email = (select private.my_verified_email())
    or (select private.is_platform_admin())
  );

drop policy if exists invitations_insert on public.invitations;
create policy invitations_insert on public.invitations for insert to api_user
  with check (organization_id in (select private.org_ids_for('admin')));

drop policy if exists invitations_update on public.invitations;
create policy invitations_update on public.invitations for update to api_user
  using (organization_id in (select private.org_ids_for('admin')))
  with check (organization_id in (select private.org_ids_for('admin')) and status = 'revoked');
