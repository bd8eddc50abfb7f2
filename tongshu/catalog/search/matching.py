"""Text matching: which indexed resources contain every query term, and how well (relevance).

1. Every term becomes tokens (text.term_tokens). One query counts each token's postings (capped), so the join can
   start from the rarest; a token no document holds ends the search at once.
2. One query joins the postings of the rarest tokens on the document (an index probe each, on the covering
   (token, document, fields) key) and ANDs their field masks per term. A term that is its own single token (人口,
   户籍, 税, `gb`) is then known exactly, fields included, without reading any document. Any other term is confirmed
   as a substring of the normalized text, and only in the fields its tokens' masks allow.
3. Relevance sums, over terms, the weights of the fields holding the term (text.FIELD_WEIGHTS: name, code,
   keywords, info items, provider, summary) plus a bonus when the name starts with it. Same SQL on SQLite and
   PostgreSQL but for the name of the substring function.
"""

from __future__ import annotations

from django.db import connection

from tongshu.catalog.search_models import SearchDocument, SearchPosting

from .text import ALL_FIELDS, FIELD_BITS, FIELD_WEIGHTS, MASK_SCORES, NAME_START_BONUS, is_exact, term_tokens

# Counting a token's postings stops here: past it, the order between common tokens hardly matters.
FREQUENCY_CAP = 2000
# At most this many tokens are joined; the others are checked by the substring test.
MAX_JOINED_TOKENS = 6


def _quoted(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def token_frequencies(tokens: list[str]) -> dict[str, int]:
    """How many documents hold each token, counted up to FREQUENCY_CAP, in one query."""
    table = _quoted(SearchPosting)
    parts = [
        f"SELECT %s, (SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE token = %s LIMIT {FREQUENCY_CAP}) AS t{i})"  # noqa: S608
        for i in range(len(tokens))
    ]
    params: list[str] = []
    for token in tokens:
        params += [token, token]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return {token: count for token, count in cursor.fetchall()}


def _substring_score(mask_sql: str, term: str) -> tuple[str, list[str]]:
    """SQL scoring `term` in the fields `mask_sql` allows (0 when it is in none of them)."""
    find = "instr({column}, %s)" if connection.vendor == "sqlite" else "strpos({column}, %s)"
    parts, params = [], []
    for column, weight in FIELD_WEIGHTS.items():
        bit = FIELD_BITS[column]
        position = find.format(column=f"d.{column}")
        if column == "name_text":
            parts.append(
                f"CASE WHEN ({mask_sql}) & {bit} = 0 THEN 0 ELSE CASE {position} WHEN 0 THEN 0 "
                f"WHEN 1 THEN {weight + NAME_START_BONUS} ELSE {weight} END END"
            )
        else:
            parts.append(f"CASE WHEN ({mask_sql}) & {bit} <> 0 AND {position} > 0 THEN {weight} ELSE 0 END")
        params.append(term)
    return "(" + " + ".join(parts) + ")", params


def match_terms(terms: list[str]) -> dict[int, list[int]]:
    """Relevance score → ids of the resources with that score, for the resources containing every term.

    Grouped by score because scores take few values: the engine turns each group into one bitset.
    """
    term_token_lists = [term_tokens(term) for term in terms]
    tokens = list(dict.fromkeys(token for tokens in term_token_lists for token in tokens))
    if not tokens:
        return {}
    frequencies = token_frequencies(tokens)
    if min(frequencies.values()) == 0:
        return {}
    joined = sorted(tokens, key=lambda token: frequencies[token])[:MAX_JOINED_TOKENS]
    alias = {token: f"p{i}" for i, token in enumerate(joined)}

    columns, column_params, exact = [], [], []
    for term, term_tokens_ in zip(terms, term_token_lists, strict=True):
        masks = [f"{alias[token]}.fields" for token in term_tokens_ if token in alias]
        mask_sql = " & ".join(masks) if masks else str(ALL_FIELDS)
        if is_exact(term) and term in alias:
            columns.append(mask_sql)
            exact.append(True)
        else:
            sql, params = _substring_score(mask_sql, term)
            columns.append(sql)
            column_params += params
            exact.append(False)
    postings = _quoted(SearchPosting)
    tables = [f"{postings} p0"] + [f"{postings} {alias[token]}" for token in joined[1:]]
    where = ["p0.token = %s"] + [
        f"{alias[t]}.token = %s AND {alias[t]}.document_id = p0.document_id" for t in joined[1:]
    ]
    if not all(exact):
        tables.append(f"{_quoted(SearchDocument)} d")
        where.append("d.resource_id = p0.document_id")
    # CROSS JOIN makes SQLite keep this order (rarest token first); PostgreSQL plans the joins itself.
    sql = (
        f"SELECT p0.document_id, {', '.join(columns)} FROM {' CROSS JOIN '.join(tables)} "  # noqa: S608
        f"WHERE {' AND '.join(where)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*column_params, *joined])
        rows = cursor.fetchall()
    buckets: dict[int, list[int]] = {}
    if len(exact) == 1:  # the common case, one term: no per-row loop beyond the append
        score_of = MASK_SCORES if exact[0] else None
        for resource_id, value in rows:
            if value:
                buckets.setdefault(score_of[value] if score_of else value, []).append(resource_id)
        return buckets
    for row in rows:
        total = 0
        for value, is_mask in zip(row[1:], exact, strict=True):
            if not value:
                break
            total += MASK_SCORES[value] if is_mask else value
        else:
            buckets.setdefault(total, []).append(row[0])
    return buckets
