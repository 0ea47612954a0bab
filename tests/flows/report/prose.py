"""The prose of a report: its text outside code, the settings table and SVG (tests only)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser

CODE_WORDS = re.compile(
    r"\b(ancova|ANCOVA|ipw|post_only_difference|ordered_logit|logit_ame|probit_ame|"
    r"cr2_satterthwaite|wild_bootstrap|WCR-?\d*|hc2|paired_cr2|two_wave_cr2|paired_t|welch_t)\b"
)
"""Estimator and inference codes of the estimates table, which prose spells out in words."""


class _Prose(HTMLParser):
    SKIPPED = ("code", "svg", "style", "title")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._settings = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self._skip += 1
        if tag in ("table", "div") and dict(attrs).get("class") in ("settings", "technical"):
            self._settings = True

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED and self._skip:
            self._skip -= 1
        if tag == "table" or (tag == "div" and self._settings):
            self._settings = False

    def handle_data(self, data: str) -> None:
        if not self._skip and not self._settings:
            self.parts.append(data)


def prose(page: str) -> str:
    """The words a reader reads: text outside ``<code>``, SVG, the run's settings table and
    the models of the methods appendix (``div.technical``: specifications for statisticians)."""
    parser = _Prose()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def codes_in_prose(page: str, names: Iterable[str]) -> list[str]:
    """Estimator codes, and the variable ``names`` (outcomes, constructs, items, summary
    indices) left in the prose of ``page``."""
    text = prose(page)
    found = set(CODE_WORDS.findall(text))
    found |= {name for name in names if "_" in name and re.search(rf"\b{re.escape(name)}\b", text)}
    return sorted(found)
