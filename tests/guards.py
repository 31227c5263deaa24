"""Schema guards: queries over the whole schema, so they protect every table and function added later.

Each returns the offending objects; the tests assert the lists are empty, and prove each guard
catches a deliberately bad object. They mirror Supabase's database advisor (splinter) lints.
"""

from __future__ import annotations

from shared.db import Conn

OUR_SCHEMAS = ("public", "private")
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


async def _names(conn: Conn, sql: str, *params: object) -> list[str]:
    cur = await conn.execute(sql, params)
    return sorted(str(row["name"]) for row in await cur.fetchall())


async def tables_without_rls(conn: Conn) -> list[str]:
    return await _names(
        conn,
        """select c.oid::regclass::text as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity""",
    )


async def tables_writable_by_clients(conn: Conn) -> list[str]:
    """anon and authenticated (the frontend's direct Supabase roles) may only read."""
    return await _names(
        conn,
        """select distinct format('%%s:%%s:%%s', c.oid::regclass, r.rolname, p.priv) as name
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
           cross join (values ('anon'), ('authenticated')) as r(rolname)
           cross join (values ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) as p(priv)
           where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f')
             and (has_table_privilege(r.rolname, c.oid, p.priv)
                  or (p.priv in ('INSERT', 'UPDATE') and has_any_column_privilege(r.rolname, c.oid, p.priv)))""",
    )


async def unsafe_security_definer_functions(conn: Conn) -> list[str]:
    """SECURITY DEFINER must pin search_path and live outside the API-exposed schema."""
    return await _names(
        conn,
        """select p.oid::regprocedure::text as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where p.prosecdef and n.nspname <> all(%s)
             and (n.nspname = 'public'
                  or not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) cfg
                                 where cfg like 'search_path=%%'))""",
        list(SYSTEM_SCHEMAS),
    )


async def unindexed_foreign_keys(conn: Conn) -> list[str]:
    return await _names(
        conn,
        """select format('%%s.%%s', c.conrelid::regclass, c.conname) as name
           from pg_constraint c join pg_namespace n on n.oid = c.connamespace
           where c.contype = 'f' and n.nspname <> all(%s)
             and not exists (
               select 1 from pg_index i
               where i.indrelid = c.conrelid
                 and (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
                 and (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)""",
        list(SYSTEM_SCHEMAS),
    )


async def policies_with_per_row_auth_calls(conn: Conn) -> list[str]:
    """auth.uid()/auth.jwt() must be wrapped as (select auth.uid()) so Postgres evaluates them once."""
    return await _names(
        conn,
        r"""select format('%%s.%%s:%%s', schemaname, tablename, policyname) as name from pg_policies
            where schemaname = any(%s)
              and (regexp_replace(coalesce(qual, '') || ' ' || coalesce(with_check, ''),
                                  '\(\s*select\s+auth\.(uid|jwt|role|email)\(\)(\s+as\s+\w+)?\s*\)', '', 'gi')
                   ~* 'auth\.(uid|jwt|role|email)\(\)|current_setting\(')""",
        list(OUR_SCHEMAS),
    )


async def multiple_permissive_policies(conn: Conn) -> list[str]:
    return await _names(
        conn,
        """select format('%%s.%%s:%%s:%%s', schemaname, tablename, r.role, a.cmd) as name
           from pg_policies p
           cross join lateral unnest(p.roles) as r(role)
           cross join lateral (select unnest(case when p.cmd = 'ALL'
                                                  then array['SELECT','INSERT','UPDATE','DELETE']
                                                  else array[p.cmd] end) as cmd) a
           where p.schemaname = any(%s) and p.permissive = 'PERMISSIVE'
           group by schemaname, tablename, r.role, a.cmd having count(*) > 1""",
        list(OUR_SCHEMAS),
    )


async def always_true_write_policies(conn: Conn) -> list[str]:
    return await _names(
        conn,
        """select format('%%s.%%s:%%s', schemaname, tablename, policyname) as name from pg_policies
           where schemaname = any(%s) and cmd <> 'SELECT'
             and (coalesce(qual, 'x') = 'true' or coalesce(with_check, 'x') = 'true')""",
        list(OUR_SCHEMAS),
    )


async def policies_on_tables_without_rls(conn: Conn) -> list[str]:
    return await _names(
        conn,
        """select distinct c.oid::regclass::text as name from pg_policy p join pg_class c on c.oid = p.polrelid
           join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = any(%s) and not c.relrowsecurity""",
        list(OUR_SCHEMAS),
    )


async def security_definer_views(conn: Conn) -> list[str]:
    """Views run with their owner's rights unless security_invoker is on: that would bypass RLS."""
    return await _names(
        conn,
        """select c.oid::regclass::text as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = 'public' and c.relkind in ('v', 'm')
             and not coalesce(c.reloptions @> array['security_invoker=true'] or
                              c.reloptions @> array['security_invoker=on'], false)""",
    )
