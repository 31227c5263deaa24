"""The benchmark data set, built set-based (generate_series, one statement per table), never row by row.

Full scale: 100,000 users, 1,000,000 gigs, 2,000,000 applications, 50,000 conversations with
5,000,000 messages (a few conversations with 100,000 each), notifications. `small` is 1/20th of
everything except the hot conversations, which keep 100,000 messages so the deep-page benchmark
measures the same depth at both scales.

Real schema and triggers where affordable: users go in through auth.users, so the real
on_auth_user_created trigger writes their profiles (and whatever else other domains hang on it).
Where a per-row trigger would dominate the load (gig checks, application counters and notifications,
conversation participants, message ordering and notifications), the load runs with
`session_replication_role = replica` (ordinary triggers off, constraints, defaults and generated
columns still on) and the derived data is then computed in one statement each:
gigs.applications_count, conversation_participants, conversations.last_message_at.

Counts of tags per row come from a hash of the row number, not random(): Postgres evaluates a
volatile call in a set-returning function's arguments once for the whole statement here, which left
every gig with the same number of skills and no AI tools at all in a first version.

Ids are derived from the row number (md5('g' || n)::uuid), so benchmarks can name "gig 42" or
"the user in 1,000 conversations" without a lookup.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import psycopg

CATEGORIES = (
    "ai-development",
    "web-development",
    "machine-learning",
    "content-writing",
    "data-analysis",
    "automation",
    "design",
    "prompt-engineering",
    "marketing",
    "mobile-development",
    "video-audio",
    "customer-support",
    "translation",
    "other",
)
SKILLS = [
    "python",
    "javascript",
    "typescript",
    "react",
    "nextjs",
    "node",
    "django",
    "fastapi",
    "flask",
    "sql",
    "postgresql",
    "supabase",
    "aws",
    "gcp",
    "azure",
    "docker",
    "kubernetes",
    "terraform",
    "rust",
    "go",
    "java",
    "kotlin",
    "swift",
    "flutter",
    "vue",
    "svelte",
    "tailwind",
    "graphql",
    "rest",
    "pandas",
    "numpy",
    "pytorch",
    "tensorflow",
    "langchain",
    "llamaindex",
    "rag",
    "embeddings",
    "vector-search",
    "openai-api",
    "fine-tuning",
    "nlp",
    "computer-vision",
    "scraping",
    "etl",
    "airflow",
    "dbt",
    "spark",
    "tableau",
    "powerbi",
    "excel",
    "figma",
    "photoshop",
    "illustrator",
    "copywriting",
    "seo",
    "technical-writing",
    "editing",
    "translation-es",
    "translation-de",
    "translation-fr",
    "video-editing",
    "voiceover",
    "animation",
    "unity",
    "blender",
    "shopify",
    "wordpress",
    "webflow",
    "zapier",
    "make",
    "n8n",
    "chatbots",
    "twilio",
    "stripe",
    "firebase",
    "mongodb",
    "redis",
    "elasticsearch",
    "kafka",
    "security",
    "testing",
    "playwright",
    "cypress",
    "ci-cd",
    "linux",
    "bash",
]
AI_TOOLS = [
    "chatgpt",
    "claude",
    "gpt-4",
    "copilot",
    "cursor",
    "midjourney",
    "stable-diffusion",
    "dall-e",
    "whisper",
    "elevenlabs",
    "gemini",
    "llama",
    "mistral",
    "perplexity",
    "runway",
]
TITLE_WORDS = [
    "build",
    "chatbot",
    "dashboard",
    "agent",
    "pipeline",
    "website",
    "app",
    "api",
    "integration",
    "landing-page",
    "scraper",
    "model",
    "classifier",
    "automation",
    "workflow",
    "assistant",
    "prototype",
    "redesign",
    "migration",
    "report",
    "blog",
    "newsletter",
    "campaign",
    "video",
    "podcast",
    "translation",
    "support",
    "analytics",
    "recommendation",
    "search",
    "summarizer",
    "extension",
    "plugin",
]
DESCRIPTION_WORDS = [
    "we",
    "need",
    "an",
    "experienced",
    "freelancer",
    "to",
    "help",
    "our",
    "startup",
    "deliver",
    "a",
    "reliable",
    "solution",
    "using",
    "modern",
    "tools",
    "the",
    "project",
    "includes",
    "planning",
    "implementation",
    "testing",
    "documentation",
    "and",
    "handover",
    "please",
    "share",
    "relevant",
    "portfolio",
    "examples",
    "timeline",
    "and",
    "questions",
    "remote",
    "collaboration",
    "with",
    "weekly",
    "calls",
    "fast",
    "iteration",
    "production",
    "quality",
    "clean",
    "code",
    "data",
    "privacy",
    "matters",
    "our",
    "customers",
    "rely",
    "on",
    "accuracy",
    "and",
    "speed",
]


@dataclass(frozen=True)
class Scale:
    name: str
    users: int
    gigs: int
    applications: int
    conversations: int
    messages: int
    hot_conversations: int  # each with HOT_MESSAGES messages
    busy_user_conversations: int  # the conversations user 1 takes part in
    notifications_per_user: int


HOT_MESSAGES = 100_000

SCALES = {
    "full": Scale("full", 100_000, 1_000_000, 2_000_000, 50_000, 5_000_000, 5, 1_000, 5),
    "small": Scale("small", 5_000, 50_000, 100_000, 2_500, 250_000, 1, 1_000, 5),
}


def uid(n: int) -> str:
    """The id of generated user n (1-based), as the generator writes it."""
    import hashlib
    import uuid

    return str(uuid.UUID(hashlib.md5(f"u{n}".encode()).hexdigest()))


def gig_id(n: int) -> str:
    import hashlib
    import uuid

    return str(uuid.UUID(hashlib.md5(f"g{n}".encode()).hexdigest()))


def conversation_id(n: int) -> str:
    import hashlib
    import uuid

    return str(uuid.UUID(hashlib.md5(f"c{n}".encode()).hexdigest()))


def _arr(values: tuple[str, ...] | list[str]) -> str:
    return "array[" + ",".join("'" + v + "'" for v in values) + "]::text[]"


def statements(s: Scale) -> list[tuple[str, str]]:
    """(label, sql) in load order. Skew: x = random()^k concentrates on the first entries of a list
    (popular categories, skills, busy posters), as real marketplaces do."""
    cats, skills, tools = _arr(CATEGORIES), _arr(SKILLS), _arr(AI_TOOLS)
    tw, dw = _arr(TITLE_WORDS), _arr(DESCRIPTION_WORDS)
    nc, ns, nt, ntw, ndw = len(CATEGORIES), len(SKILLS), len(AI_TOOLS), len(TITLE_WORDS), len(DESCRIPTION_WORDS)
    rest_convs = s.conversations - s.hot_conversations
    rest_msgs = s.messages - s.hot_conversations * HOT_MESSAGES
    return [
        (
            "users (auth.users; profiles by the real trigger)",
            f"""insert into auth.users (id, email, encrypted_password, email_confirmed_at, raw_app_meta_data,
                  raw_user_meta_data, aud, role, created_at, last_sign_in_at)
                select md5('u' || n)::uuid, 'bench' || n || '@example.test', null,
                       now() - interval '400 days' * random(), '{{"provider":"email","providers":["email"]}}',
                       jsonb_build_object('username', 'bench_user_' || n, 'full_name', 'Bench User ' || n),
                       'authenticated', 'authenticated', now() - interval '400 days' * random(),
                       now() - interval '30 days' * random()
                from generate_series(1, {s.users}) n""",
        ),
        (
            "profiles (skills, bio, rates)",
            f"""update public.profiles p set
                  bio = 'Freelancer working with AI tools on client projects. ' || p.username,
                  skills = (select array_agg(distinct ({skills})[1 + floor({ns} * power(random(), 2))::int])
                            from generate_series(1, 1 + (abs(hashtext(p.id::text)) % 6)) k where p.id is not null),
                  ai_tools = (select array_agg(distinct ({tools})[1 + floor({nt} * power(random(), 2))::int])
                              from generate_series(1, 1 + (abs(hashtext(p.username)) % 3)) k where p.id is not null),
                  hourly_rate = round((15 + 150 * power(random(), 2))::numeric, 2)
                where p.username like 'bench_user_%'""",
        ),
        ("replica mode: ordinary triggers off for the bulk tables", "set session_replication_role = replica"),
        (
            "gigs",
            f"""insert into public.gigs (id, poster_id, title, description, category, skills_required,
                  ai_tools_preferred, budget_type, budget_min, budget_max, duration, location_type, status,
                  published_at, created_at, updated_at, views_count)
                select md5('g' || n)::uuid,
                       md5('u' || (1 + floor({s.users} * power(random(), 3))::int))::uuid,
                       initcap(({tw})[1 + floor({ntw} * random())::int]) || ' '
                         || ({tw})[1 + floor({ntw} * random())::int]
                         || ' with ' || ({skills})[1 + floor({ns} * power(random(), 2))::int] || ' #' || n,
                       ({dw})[1 + floor({ndw} * random())::int] || ' ' || ({dw})[1 + floor({ndw} * random())::int]
                         || ' ' || ({tw})[1 + floor({ntw} * random())::int] || ' '
                         || array_to_string(array(select ({dw})[1 + floor({ndw} * random())::int]
                                                  from generate_series(1, 30) w where n > 0), ' '),
                       ({cats})[1 + floor({nc} * power(random(), 2))::int],
                       array(select distinct ({skills})[1 + floor({ns} * power(random(), 2.5))::int]
                             from generate_series(1, 1 + abs(hashtext('s' || n)) % 5) k where n > 0),
                       array(select distinct ({tools})[1 + floor({nt} * power(random(), 2))::int]
                             from generate_series(1, abs(hashtext('t' || n)) % 3) k where n > 0),
                       case when random() < 0.7 then 'fixed' else 'hourly' end,
                       b.lo, b.lo + round((b.lo * 2 * random())::numeric, 2),
                       (array['1 week','2 weeks','1 month','3 months','ongoing'])[1 + floor(5 * random())::int],
                       (array['remote','remote','remote','hybrid','onsite'])[1 + floor(5 * random())::int],
                       st.status,
                       case when st.status = 'draft' then null else st.at end,
                       st.at - interval '1 day', st.at, floor(500 * power(random(), 4))::int
                from generate_series(1, {s.gigs}) n
                cross join lateral (select round(exp(3 + 6 * power(random(), 1.5))::numeric, 2) + 0 * n as lo) b
                cross join lateral (
                  select case when r < 0.70 then 'active' when r < 0.80 then 'draft' when r < 0.95 then 'closed'
                              when r < 0.98 then 'filled' else 'paused' end as status,
                         now() - interval '365 days' * power(random(), 2) as at
                  from (select random() + 0 * n as r) x
                ) st
                -- Stored oldest first, as a live table fills up (rows are appended as gigs are posted):
                -- the newest gigs share heap pages instead of being spread over the whole table.
                order by st.at""",
        ),
        (
            "applications",
            f"""insert into public.applications (gig_id, applicant_id, cover_letter, proposed_rate, status,
                  created_at, updated_at)
                select x.gig, x.applicant,
                       'I have done this kind of work before and can start right away. #' || x.n,
                       round((20 + 2000 * random())::numeric, 2),
                       (array['pending','pending','pending','reviewing','shortlisted','rejected','rejected',
                              'accepted','withdrawn'])[1 + floor(9 * random())::int],
                       now() - interval '300 days' * random(), now()
                from (select n, md5('g' || (1 + floor({s.gigs} * power(random(), 2))::int))::uuid as gig,
                             md5('u' || (1 + floor({s.users} * random())::int))::uuid as applicant
                      from generate_series(1, {s.applications}) n) x
                join public.gigs g on g.id = x.gig
                -- what the real trigger allows: no drafts, never one's own gig
                where g.status <> 'draft' and g.poster_id <> x.applicant
                on conflict (gig_id, applicant_id) do nothing""",
        ),
        (
            "gigs.applications_count (recomputed in one statement)",
            """update public.gigs g set applications_count = a.n
               from (select gig_id, count(*) filter (where status <> 'withdrawn') as n
                     from public.applications group by gig_id) a
               where g.id = a.gig_id""",
        ),
        (
            "conversations (user 1 in the first ones; hot ones first)",
            f"""insert into public.conversations (id, participant_ids, context_key, created_at, updated_at,
                  last_message_at)
                select md5('c' || n)::uuid, ids, array_to_string(ids, ',') || ':bench' || n,
                       now() - interval '200 days', now(), now() - interval '200 days'
                from generate_series(1, {s.conversations}) n
                cross join lateral (
                  select array(select x from unnest(array[
                    case when n <= {s.busy_user_conversations} then md5('u1')::uuid
                         -- an offset of 1..users-2 from the other participant: never the same user
                         else md5('u' || (2 + ((n * 7919 + 1 + floor(({s.users} - 2) * random())::int)
                                               % ({s.users} - 1))))::uuid end,
                    md5('u' || (2 + ((n * 7919) % ({s.users} - 1))))::uuid]) x order by x) as ids
                ) p""",
        ),
        (
            "conversation_participants (what the conversations trigger writes)",
            """insert into public.conversation_participants (conversation_id, user_id, joined_at, last_read_at)
               select c.id, p, c.created_at, case when random() < 0.5 then now() - interval '10 days' end
               from public.conversations c cross join unnest(c.participant_ids) p
               on conflict do nothing""",
        ),
        (
            f"messages: {s.hot_conversations} hot conversations x {HOT_MESSAGES}",
            f"""insert into public.messages (conversation_id, sender_id, content, created_at)
                select c.id, c.participant_ids[1 + (k % 2)],
                       'Message ' || k || ': ' || ({dw})[1 + floor({ndw} * random())::int] || ' '
                         || ({dw})[1 + floor({ndw} * random())::int],
                       now() - interval '150 days' + k * interval '100 milliseconds'
                from generate_series(1, {s.hot_conversations}) h
                join public.conversations c on c.id = md5('c' || h)::uuid
                cross join generate_series(1, {HOT_MESSAGES}) k""",
        ),
        (
            f"messages: {rest_msgs} across {rest_convs} conversations",
            f"""insert into public.messages (conversation_id, sender_id, content, created_at)
                select c.id, c.participant_ids[1 + (k / {rest_convs}) % 2],
                       'Message ' || k || ': ' || ({dw})[1 + floor({ndw} * random())::int] || ' '
                         || ({dw})[1 + floor({ndw} * random())::int],
                       now() - interval '150 days' + k * interval '2 seconds'
                from generate_series(0, {rest_msgs} - 1) k
                join public.conversations c
                  on c.id = md5('c' || ({s.hot_conversations} + 1 + k % {rest_convs}))::uuid""",
        ),
        (
            "conversations.last_message_at (recomputed in one statement)",
            """update public.conversations c set last_message_at = m.last_at
               from (select conversation_id, max(created_at) as last_at from public.messages group by 1) m
               where c.id = m.conversation_id""",
        ),
        (
            "notifications",
            f"""insert into public.notifications (user_id, type, title, body, data, read_at, created_at)
                select md5('u' || (1 + (n % {s.users})))::uuid,
                       (array['new_application','application_status','new_message','gig_update'])[1 + n % 4],
                       'Notification ' || n, 'Something happened on ugig', '{{}}'::jsonb,
                       case when random() < 0.7 then now() - interval '1 day' end,
                       now() - interval '60 days' * random()
                from generate_series(1, {s.users * s.notifications_per_user}) n""",
        ),
        ("ordinary triggers back on", "set session_replication_role = origin"),
        ("analyze", "analyze"),
    ]


def generate(url: str, scale: Scale, *, log: bool = True) -> dict[str, float]:
    """Loads the data set into an empty, migrated database; returns seconds per step."""
    timings: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set maintenance_work_mem = '512MB'")
        conn.execute("set work_mem = '256MB'")
        for label, sql in statements(scale):
            started = time.perf_counter()
            conn.execute(sql)  # type: ignore[arg-type]  # generated text, no user input
            timings[label] = round(time.perf_counter() - started, 2)
            if log:
                print(f"  generate: {label}: {timings[label]} s", file=sys.stderr, flush=True)
    return timings


def counts(url: str) -> dict[str, int]:
    tables = (
        "auth.users",
        "public.profiles",
        "public.gigs",
        "public.applications",
        "public.conversations",
        "public.messages",
        "public.notifications",
    )
    with psycopg.connect(url, autocommit=True) as conn:
        return {t: int(conn.execute(f"select count(*) from {t}").fetchone()[0]) for t in tables}  # type: ignore[index]
