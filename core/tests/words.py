"""What a person reads on a page, for tests that it reads cleanly: no word said twice in a row ("Closed closes",
"Closed, closes", "the the") within one run of text, and no help line repeated on a page."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

# Elements whose start or end breaks a run of text (a person reads their contents apart from their neighbours').
BLOCKS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div", "dl", "dt"),
        *("fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr"),
        *("label", "legend", "li", "main", "nav", "ol", "option", "p", "pre", "section", "select", "summary"),
        *("table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "button", "input", "textarea", "img", "svg"),
    }
)
HIDDEN = frozenset({"script", "style", "title", "head", "template", "noscript"})
# Two words with nothing but spaces or a comma between them ("Closed closes"); letters inside codes and
# addresses are not words.
PAIR = re.compile(r"(?<![\w'.-])([A-Za-z][A-Za-z']+)[\s,]+(?=([A-Za-z][A-Za-z']+)(?![\w'-]))")
# Word endings read as the same word ("close", "closes", "closed", "closing").
ENDINGS = ("ing", "es", "ed", "s", "d")


def _stem(word: str) -> str:
    word = word.lower()
    for ending in ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


class PageText(HTMLParser):
    """The runs of text a person reads apart from each other, the help lines, and the page's links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[str] = [""]
        self.help: list[str] = []
        self.links: list[str] = []
        self._hidden = 0
        self._help_depth: list[int] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in HIDDEN:
            self._hidden += 1
        if tag in BLOCKS:
            self.runs.append("")
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if tag not in ("br", "hr", "img", "input", "meta", "link"):
            self._depth += 1
            if "form-text" in (values.get("class") or "").split():
                self._help_depth.append(self._depth)
                self.help.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        if tag in BLOCKS:
            self.runs.append("")
        if tag not in ("br", "hr", "img", "input", "meta", "link"):
            if self._help_depth and self._help_depth[-1] == self._depth:
                self._help_depth.pop()
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self.runs[-1] += data
        if self._help_depth:
            self.help[-1] += data


def page_problems(html: str) -> list[str]:
    """Words said twice in a row within one run of text, and help lines that appear more than once."""
    parsed = PageText()
    parsed.feed(html)
    problems = []
    for run in parsed.runs:
        for match in PAIR.finditer(run):
            first, second = match.groups()
            if _stem(first) == _stem(second):
                problems.append(f"doubled word {first!r} {second!r} in {' '.join(run.split())[:120]!r}")
    lines = Counter(" ".join(h.split()) for h in parsed.help if h.strip())
    problems += [f"help line repeated {n} times: {line!r}" for line, n in lines.items() if n > 1]
    return problems
