-- getGigs at 1M gigs (issue 8): one GIN index answers every indexable filter of the listing at once.
--
-- Before, search, skills and AI tools each had their own GIN index and category / location type their
-- own btree. A rare combination of frequent values (search=react website & category=web-development:
-- 824 matches) read the bitmap of the words (7,313 gigs) and then every one of those heap pages to
-- test the category: ~15 ms. With the category, the location type and the tags in the same document,
-- GIN intersects the posting lists itself and the heap is read for the matches only (~2 ms).
--
-- The document is the stored search vector plus one lexeme per tag, spelled "<kind> <value>", and each
-- word of the gig once more as "in <category> <word>": a word's posting list within one category is a
-- fraction of the word's, so search=react website&category=web-development reads
-- 'in web-development react' & 'in web-development websit' (773 matches, ~2 ms) instead of
-- intersecting three lists of ~80,000 entries (8-12 ms). The text parser never produces a lexeme with a
-- space, so no word of a title can match these, and a search for "skill python" is two words, not a
-- tag. Built with the SQL-standard body (bound at creation, no search_path lookups at run time) and
-- kept IMMUTABLE: it is an index expression.
create function private.gig_filter_document(
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

-- Any of the tags, as a query over that document: 'skill python' | 'skill react'. Each lexeme is
-- quoted for the tsquery parser (backslash and quote escaped), so a tag is always one lexeme whatever
-- characters it has ("c++", "o'reilly", "a | b", "!x").
create function private.gig_tag_query(kind text, tags text[])
returns tsquery
language sql
immutable
parallel safe
return (
  select pg_catalog.string_agg(
    '''' || pg_catalog.replace(pg_catalog.replace(kind || ' ' || t, '\', '\\'), '''', '''''') || '''', ' | '
  )::tsquery
  from pg_catalog.unnest(tags) as t
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

revoke all on function private.gig_filter_document(tsvector, text, text, text[], text[]) from public;
revoke all on function private.gig_tag_query(text, text[]) from public;
revoke all on function private.gig_words_in_category(tsquery, text) from public;
grant execute on function private.gig_filter_document(tsvector, text, text, text[], text[])
  to anon, authenticated, api_user, service_role;
grant execute on function private.gig_tag_query(text, text[]) to anon, authenticated, api_user, service_role;
grant execute on function private.gig_words_in_category(tsquery, text) to anon, authenticated, api_user, service_role;

create index gigs_active_filter_idx on public.gigs using gin (
  private.gig_filter_document(search_vector, category, location_type, skills_required, ai_tools_preferred)
) where status = 'active';

-- The planner ignores a partial index's expression statistics; these give it the document's
-- most-common-element frequencies, so the service's estimate of a search's size (and the planner's
-- choice between this index and walking the newest-first one) is right for words and tags alike. They
-- cannot track every word of every category: the service estimates with the plain words.
create statistics private.gigs_filter_document_stats on (
  private.gig_filter_document(search_vector, category, location_type, skills_required, ai_tools_preferred)
) from public.gigs;
alter statistics private.gigs_filter_document_stats set statistics 1000;

-- The three single-purpose GIN indexes are superseded (each write to a gig maintained all of them).
drop index public.gigs_active_search_idx;
drop index public.gigs_active_skills_idx;
drop index public.gigs_active_ai_tools_idx;

analyze public.gigs;
