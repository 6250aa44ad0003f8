"""PDF loader (pypdf): one Document per page with usable text, 1-based `page`.

Text is cleaned (words hyphenated across line breaks joined, whitespace normalised); pages with
fewer than LoaderConfig.pdf_min_chars_per_page alphanumeric characters are dropped. Files that
must be skipped raise IngestError with the reason: corrupt or not a PDF, encrypted with a
password, no text layer (a scan), or an XFA form holding only a "please wait / upgrade your
viewer" notice. OCR text layers of scans (often noisy) are kept as they are.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

from ragbot.config import LoaderConfig
from ragbot.errors import IngestError
from ragbot.types import Document
from ragbot.kb.ingest._io import read_bytes

log = logging.getLogger(__name__)

_HYPHEN_BREAK = re.compile(r"(\w)-[ \t]*\n[ \t]*([a-z])")  # "main-\ntenance" -> "maintenance"
_SPACES = re.compile(r"[^\S\n]+")  # white space other than newlines
_BLANK_LINES = re.compile(r"\n{3,}")  # two or more blank lines in a row
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # control characters other than \t \n \r
# Phrases of the placeholder page Adobe LiveCycle puts in XFA-only forms.
_XFA_NOTICE = re.compile(
    r"please wait|not eventually replaced|viewer may not be able to display|upgrade to the latest version"
    r"|adobe reader|this type of document", re.IGNORECASE)
_XFA_NOTICE_MAX_CHARS = 3000


def clean_pdf_text(text: str) -> str:
    """Join words hyphenated over a line break ("deposit-\\nory" -> "depository", only when the next
    line starts lower-case), collapse runs of spaces/tabs, strip lines, keep at most one blank
    line between paragraphs, remove control characters."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _HYPHEN_BREAK.sub(r"\1\2", text)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _alnum(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def _has_xfa(reader) -> bool:
    try:
        form = reader.trailer["/Root"].get("/AcroForm")
        return form is not None and "/XFA" in form.get_object()
    except Exception:  # noqa: BLE001 - a damaged catalogue just means "no XFA"
        return False


def is_xfa_notice(text: str) -> bool:
    """True when `text` is short and reads like the XFA placeholder ("Please wait... your PDF
    viewer may not be able to display this type of document ... upgrade ... Adobe Reader")."""
    return len(text) <= _XFA_NOTICE_MAX_CHARS and len(set(m.lower() for m in _XFA_NOTICE.findall(text))) >= 2


def _open(path: Path):
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError

    data = read_bytes(path)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except DependencyError as e:
                raise IngestError(str(path), f"encrypted with AES and the 'cryptography' package is missing: "
                                             f"pip install 'pypdf[crypto]' ({e})") from e
            if not ok:
                raise IngestError(str(path), "encrypted: needs a password; save an unencrypted copy and ingest that")
        n = len(reader.pages)
    except IngestError:
        raise
    except FileNotDecryptedError as e:
        raise IngestError(str(path), "encrypted: needs a password; save an unencrypted copy and ingest that") from e
    except Exception as e:  # noqa: BLE001 - pypdf raises many types (PdfReadError, KeyError, ...) on damaged files
        raise IngestError(str(path), f"corrupt or not a PDF: {type(e).__name__}: {e}") from e
    if n == 0:
        raise IngestError(str(path), "corrupt or not a PDF: it has no pages")
    return reader


def load_pdf(path: Path, doc_type: str, config: LoaderConfig) -> list[Document]:
    """Documents, one per page with at least `config.pdf_min_chars_per_page` alphanumeric
    characters; `page` is 1-based; metadata {"title" (if the PDF has one), "pages": page count}.

    Raises IngestError: "corrupt or not a PDF: ...", "encrypted: needs a password",
    "XFA form ...", "no extractable text (scanned image? run OCR first)", "empty file".
    """
    reader = _open(path)
    pages: list[tuple[int, str]] = []
    raw_all: list[str] = []
    failures = 0
    for i, page in enumerate(reader.pages, 1):
        try:
            raw = page.extract_text() or ""
        except Exception as e:  # noqa: BLE001 - one bad page must not lose the others
            failures += 1
            log.warning("%s page %d: text extraction failed (%s: %s); page skipped", path.name, i, type(e).__name__, e)
            continue
        text = clean_pdf_text(raw)
        raw_all.append(text)
        if _alnum(text) >= config.pdf_min_chars_per_page and text:
            pages.append((i, text))
    n_pages = len(reader.pages)
    if failures == n_pages:
        raise IngestError(str(path), "corrupt or not a PDF: text extraction failed on every page")
    joined = "\n".join(raw_all)
    if _has_xfa(reader) and (not pages or is_xfa_notice(joined)):
        raise IngestError(str(path), "XFA form with no readable content (only a 'please wait / upgrade your PDF "
                                     "viewer' notice); open it in Adobe Reader and print it to a regular PDF")
    if not pages:
        raise IngestError(str(path), "no extractable text (scanned image? run OCR first)")
    meta: dict[str, Any] = {"pages": n_pages}
    try:
        title = (reader.metadata or {}).get("/Title")
    except Exception:  # noqa: BLE001 - damaged info dictionary
        title = None
    title = title.strip("\u200e\u200f\ufeff \t\r\n") if isinstance(title, str) else None
    if title:
        meta["title"] = title
    dropped = n_pages - len(pages)
    if dropped:
        log.info("%s: %d of %d pages had too little text and were dropped", path.name, dropped, n_pages)
    abspath = str(path.resolve())
    return [Document(text, path.name, doc_type, abspath, i, dict(meta)) for i, text in pages]
