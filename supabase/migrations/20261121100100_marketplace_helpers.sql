-- The gigs trigger runs as the writer and asks the transition rule; the services ask the database's
-- own rules (one source of truth) before a bulk change, so a refused bulk request can name every
-- application that cannot move.
grant execute on function private.gig_status_allowed(text, text) to api_user, service_role;
grant execute on function private.application_status_allowed(text, text) to api_user, service_role;
