"""Which loader reads a file: doc_type detection and dispatch by doc_type and extension."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping

from ragbot.config import LoaderConfig
from ragbot.errors import ConfigError, IngestError
from ragbot.types import DOC_TYPES, Document
from ragbot.kb.ingest._io import TABLE_EXTENSIONS, find_field, peek_fields
from ragbot.kb.ingest.faq import faq_documents_from_headings, has_faq_fields, load_faq_markdown, load_faq_table
from ragbot.kb.ingest.listings import load_listings
from ragbot.kb.ingest.aliases import with_aliases
from ragbot.kb.ingest.pdf import load_pdf
from ragbot.kb.ingest.text import load_html_text, load_text

log = logging.getLogger(__name__)

MARKDOWN_EXTENSIONS = frozenset({".md", ".markdown"})
HTML_EXTENSIONS = frozenset({".html", ".htm"})
TEXT_EXTENSIONS = MARKDOWN_EXTENSIONS | HTML_EXTENSIONS | {".txt"}
SUPPORTED_EXTENSIONS = frozenset({".pdf"} | TABLE_EXTENSIONS | TEXT_EXTENSIONS)

FOLDER_TYPES = {"faqs": "faq", "faq": "faq", "leases": "lease", "lease": "lease",
                "listings": "listing", "listing": "listing", "marketing": "marketing"}
# Columns that mark a table as listings even when FAQ aliases such as title/body also match
# (the full UCI apartments data set has title, body, price, bedrooms, ...).
_LISTING_SIGNALS = ("price", "rent", "bedrooms", "bathrooms", "square_feet", "sqft", "security_deposit",
                    "pets_allowed", "room_type", "property_type", "minimum_nights")


# A folder's type applies to the files that can be read as that type; e.g. a PDF under faqs/
# is a 'document' and a CSV under leases/ is typed by its columns.
_FOLDER_TYPE_EXTENSIONS = {
    "faq": TABLE_EXTENSIONS | MARKDOWN_EXTENSIONS | HTML_EXTENSIONS,
    "listing": TABLE_EXTENSIONS,
    "lease": TEXT_EXTENSIONS | {".pdf"},
    "marketing": TEXT_EXTENSIONS | {".pdf"},
}


def _folder_type(path: Path) -> str | None:
    for parent in path.parents:
        t = FOLDER_TYPES.get(parent.name.lower())
        if t:
            return t
    return None


def table_type(path: Path, config: LoaderConfig) -> str:
    """'faq' when the table's columns hold a question and an answer field (LoaderConfig aliases)
    and fewer than two listing columns (price, bedrooms, ...); else 'listing'."""
    fields = peek_fields(path, prefer=lambda keys: has_faq_fields(keys, config))
    if not has_faq_fields(fields, config):
        return "listing"
    signals = sum(find_field(fields, (s,)) is not None for s in _LISTING_SIGNALS)
    return "listing" if signals >= 2 else "faq"


def detect_doc_type(path: Path, override: str | None = None, config: LoaderConfig | None = None) -> str:
    """The doc_type (one of DOC_TYPES) of a file.

    1. `override` (the CLI's --type) wins; raises ConfigError when it is not one of DOC_TYPES.
    2. The nearest parent folder named faqs/faq, leases/lease, listings/listing or marketing,
       when the file can be read as that type (FAQ: tables, Markdown, HTML; listing: tables;
       lease/marketing: PDF and text files); otherwise step 3.
    3. The extension: .pdf -> 'document'; .csv/.tsv/.json/.jsonl -> 'faq' when the columns have
       question and answer fields (aliases in `config`, default LoaderConfig()), else 'listing';
       .md/.markdown/.txt/.html/.htm -> 'document'. Unknown extensions -> 'document' (load_file
       then reports them as unsupported).
    Never raises for an unreadable file: load_file reports the problem.
    """
    if override is not None:
        t = str(override).strip().lower()
        if t not in DOC_TYPES:
            raise ConfigError(f"unknown document type {override!r}; use one of: {', '.join(DOC_TYPES)}")
        return t
    path = Path(path)
    folder = _folder_type(path.absolute())
    if folder and path.suffix.lower() in _FOLDER_TYPE_EXTENSIONS[folder]:
        return folder
    if path.suffix.lower() in TABLE_EXTENSIONS:
        return table_type(path, config or LoaderConfig())
    return "document"


def load_file(path: Path, doc_type: str, config: LoaderConfig, field_types: Mapping[str, str] | None = None,
              warnings: list | None = None) -> list[Document]:
    """Documents of one file, by doc_type and extension (never empty).

    - .pdf: pages (pdf.load_pdf), doc_type as passed; 'faq'/'listing' become 'document'.
    - .csv/.tsv/.json/.jsonl: 'faq' -> FAQ pairs, 'listing' -> listings; another doc_type is
      replaced by the detected table type (with a logged note).
    - .md/.markdown/.html/.htm: 'faq' -> pairs from question headings; else one text Document.
    - .txt: one text Document ('faq'/'listing' become 'document').
    Raises IngestError(path, reason) for a file to skip: unsupported extension, missing, empty,
    corrupt, encrypted, no text, no rows. Raises ConfigError for a doc_type not in DOC_TYPES.
    field_types: listing column type overrides (config listings.fields); warnings: a list that
    receives a MalformedRow per unreadable table row (without it, such a file is an IngestError).
    """
    path = Path(path)
    if doc_type not in DOC_TYPES:
        raise ConfigError(f"unknown document type {doc_type!r}; use one of: {', '.join(DOC_TYPES)}")
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise IngestError(str(path), f"unsupported file type {ext or '(no extension)'!r}; supported: "
                                     f"{', '.join(sorted(SUPPORTED_EXTENSIONS))}")
    if not path.exists():
        raise IngestError(str(path), "file not found")
    if path.is_dir():
        raise IngestError(str(path), "is a folder, not a file")
    if path.stat().st_size == 0:
        raise IngestError(str(path), "empty file")
    if ext == ".pdf":
        return with_aliases(path, load_pdf(path, _text_type(path, doc_type), config))
    if ext in TABLE_EXTENSIONS:
        if doc_type not in ("faq", "listing"):
            detected = table_type(path, config)
            log.info("%s: a table file cannot be '%s'; loading it as '%s'", path.name, doc_type, detected)
            doc_type = detected
        return load_faq_table(path, config) if doc_type == "faq" else load_listings(path, config, field_types, warnings)
    if doc_type == "faq" and ext in MARKDOWN_EXTENSIONS:
        return load_faq_markdown(path)
    if doc_type == "faq" and ext in HTML_EXTENSIONS:
        return faq_documents_from_headings(path, load_html_text(path))
    return with_aliases(path, load_text(path, _text_type(path, doc_type)))


def _text_type(path: Path, doc_type: str) -> str:
    if doc_type in ("faq", "listing"):
        log.info("%s: a %s file cannot be '%s'; loading it as 'document'", path.name, path.suffix, doc_type)
        return "document"
    return doc_type
