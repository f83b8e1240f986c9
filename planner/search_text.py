"""Search keys that let 黄洋界, Huangyangjie and "huang yang jie" find the same site.

SQLite's unicode61 tokenizer treats a run of Chinese characters as one token, so the indexed text spells Chinese
one character per token, and adds each name's pinyin both as syllables and joined. Queries are rewritten the
same way (`fts_query`).
"""

from __future__ import annotations

import re

from pypinyin import lazy_pinyin

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[A-Za-z0-9]+")


def spaced_chinese(text: str) -> str:
    return " ".join(ch for ch in text if _CJK.match(ch))


def pinyin_forms(name: str) -> list[str]:
    """['huang yang jie shao kou', 'huangyangjieshaokou'] for 黄洋界哨口; [] for a name with no Chinese."""
    if not _CJK.search(name):
        return []
    syllables = [s.lower() for s in lazy_pinyin(name) if s.strip() and re.match(r"^[A-Za-z]+$", s)]
    return [" ".join(syllables), "".join(syllables)]


def names_key(names: list[str]) -> str:
    """Indexed text for a list of names (Chinese spaced by character, pinyin in both forms, Latin as is)."""
    parts: list[str] = []
    for name in names:
        parts.append(spaced_chinese(name))
        parts.extend(pinyin_forms(name))
        parts.append(" ".join(w.lower() for w in re.findall(r"[A-Za-z0-9]+", name)))
    return " ".join(p for p in parts if p)


def fts_query(text: str) -> str | None:
    """A safe FTS5 query: Chinese runs become phrases of characters, Latin words become prefix terms."""
    terms = []
    for word in _WORD.findall(text[:200]):
        if _CJK.match(word):
            terms.append('"' + " ".join(word) + '"')
        else:
            terms.append(f'"{word.lower()}"*')
    return " ".join(terms) or None
