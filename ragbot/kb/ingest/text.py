"""Text loaders: .txt, Markdown (.md, .markdown) and HTML (.html, .htm); one Document per file
(the chunker splits it). Markdown is kept as written, its first heading in metadata["title"].
HTML goes through BeautifulSoup: script/style/nav (and noscript/template/svg) are dropped, block
elements become line breaks, headings become Markdown "#" lines (so the splitter and the FAQ
heading parser see the structure); <title> (else the first <h1>) is metadata["title"].
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ragbot.errors import IngestError
from ragbot.types import Document
from ragbot.kb.ingest._io import read_bytes, read_text

_MD_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_DROP_TAGS = ("script", "style", "nav", "noscript", "template", "svg")
_BLOCK_TAGS = ("p", "div", "section", "article", "main", "header", "footer", "aside", "li", "dt", "dd",
               "tr", "table", "ul", "ol", "dl", "blockquote", "pre", "form", "fieldset", "figure", "figcaption")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalise_text(text: str) -> str:
    """Collapse runs of spaces/tabs, strip every line, keep at most one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def markdown_title(text: str) -> str | None:
    """The text of the first ATX heading ("# Title"), or None."""
    m = _MD_HEADING.search(text)
    return m.group(1).strip() if m else None


def html_to_text(data: bytes) -> tuple[str, str | None]:
    """(visible text with Markdown-style headings, title or None) of an HTML document given as
    bytes; BeautifulSoup (html.parser) detects the encoding from the bytes and <meta charset>."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    if soup.head is not None:
        soup.head.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for level in range(1, 7):
        for h in soup.find_all(f"h{level}"):
            text = h.get_text(" ", strip=True)
            if not title and level == 1 and text:
                title = text
            h.replace_with(f"\n\n{'#' * level} {text}\n\n" if text else "\n")
    for tag in soup.find_all(_BLOCK_TAGS):
        if tag.name == "li":
            tag.insert(0, "- ")
        tag.insert_before("\n")
        tag.insert_after("\n")
    return normalise_text(soup.get_text()), (title or None)


def load_text(path: Path, doc_type: str) -> list[Document]:
    """One Document for a .txt/.md/.markdown/.html/.htm file, `doc_type` as passed.

    Raises IngestError("empty file") for a file with no text (HTML: no visible text).
    """
    ext = path.suffix.lower()
    meta: dict[str, Any] = {}
    if ext in (".html", ".htm"):
        text, title = html_to_text(read_bytes(path))
    else:
        text = normalise_text(read_text(path)) if ext == ".txt" else read_text(path).replace("\r\n", "\n").strip()
        title = markdown_title(text) if ext in (".md", ".markdown") else None
    if not text:
        raise IngestError(str(path), "empty file" + (" (no visible text in the HTML)" if ext in (".html", ".htm") else ""))
    if title:
        meta["title"] = title
    return [Document(text, path.name, doc_type, str(path.resolve()), None, meta)]


def load_html_text(path: Path) -> str:
    """The visible text of an HTML file with Markdown-style headings (for the FAQ heading parser)."""
    text, _ = html_to_text(read_bytes(path))
    if not text:
        raise IngestError(str(path), "empty file (no visible text in the HTML)")
    return text
