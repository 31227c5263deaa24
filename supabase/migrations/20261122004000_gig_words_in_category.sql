-- getGigs at 1M gigs (issue 8): words searched within a category.
--
-- search=react website&category=web-development (773 matches) made GIN intersect three posting lists of
-- ~80,000 entries each ('react', 'websit', 'category web-development'): 8-12 ms. The filter document now
-- also carries each word of a gig once more, spelled "in <category> <word>": a word's posting list within
-- one category is a fraction of the word's, and the same search reads 'in web-development react' &
-- 'in web-development websit' (773 matches, ~2 ms). The index grows from ~127 MB to ~200 MB at 1M gigs.
-- As before, the text parser never produces a lexeme with a space, so no word can match these.

drop index public.gigs_active_filter_idx;
drop statistics private.gigs_filter_document_stats;

create or replace function private.gig_filter_document(
  search_vector tsvector, category text, location_type text, skills text[], ai_tools text[]
)
returns tsvector
language sql
immutable
parallel safe
return search_vector || pg_catalog.array_to_tsvector(
  array['category ' || category, 'location ' || location_type]
  || array(select 'skill ' || s from pg_catalog.unnest(skills) as s)
  || array(select 'tool ' || t from pg_catalog.unnest(ai_tools) as t)
  || array(select 'in ' || category || ' ' || w from pg_catalog.unnest(pg_catalog.tsvector_to_array(search_vector)) as w)
);

-- The words of a search, as the category's composite lexemes: 'react' & !'wordpress' becomes
-- 'in web-development react' & !'in web-development wordpress'. The caller still ands the category's own
-- lexeme (a query of negations alone, or an "or" with one, would otherwise reach other categories).
-- Unchanged (plain words) for a phrase search (composite lexemes carry no positions, so a phrase would
-- never match them) and for a category that is not a slug (it is spliced into the query's text).
create function private.gig_words_in_category(words tsquery, category text)
returns tsquery
language sql
immutable
parallel safe
return case
  when category !~ '^[a-z0-9]+(-[a-z0-9]+)*$'
    or pg_catalog.regexp_replace(words::text, '''(?:[^'']|'''')*''', '', 'g') ~ '<' then words
  else pg_catalog.regexp_replace(words::text, '''((?:[^'']|'''')*)''', '''in ' || category || ' \1''', 'g')::tsquery
end;

revoke all on function private.gig_words_in_category(tsquery, text) from public;
grant execute on function private.gig_words_in_category(tsquery, text) to anon, authenticated, api_user, service_role;

create index gigs_active_filter_idx on public.gigs using gin (
  private.gig_filter_document(search_vector, category, location_type, skills_required, ai_tools_preferred)
) where status = 'active';

create statistics private.gigs_filter_document_stats on (
  private.gig_filter_document(search_vector, category, location_type, skills_required, ai_tools_preferred)
) from public.gigs;
alter statistics private.gigs_filter_document_stats set statistics 1000;

analyze public.gigs;
