"""Listing loader: one Document per row of a CSV/TSV, JSON or JSONL file of rental listings.

source is "<file name>#<id>" (id column from LoaderConfig.listing_id_fields, case-insensitive;
"row<N>" with the 1-based data row when there is no id). The text is a short passage built
for embedding: a title line, key facts ("Price: $198.00", "Bedrooms: 3", ...), then the
descriptive fields, each capped, with fields whose text another field already holds left out
(Inside Airbnb's `description` is `summary` + `space` + ..., truncated). Column names follow
Inside Airbnb (insideairbnb.com data dictionary) and the UCI "Apartment for Rent Classified"
data set; others are matched by the alias table below. Every non-empty column is kept in
metadata as a string, plus "row".
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from ragbot.config import LoaderConfig
from ragbot.errors import IngestError
from ragbot.types import Document
from ragbot.kb.ingest._io import clean_value, find_field, read_records

log = logging.getLogger(__name__)

TITLE_FIELDS = ("name", "title", "listing_name", "headline", "property_name")
# (label, aliases): short facts rendered as "Label: value", in this order.
KEY_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Price", ("price_display", "price", "rent", "monthly_rent", "list_price")),
    ("Price type", ("price_type", "rent_period")),
    ("Weekly price", ("weekly_price",)),
    ("Monthly price", ("monthly_price",)),
    ("Bedrooms", ("bedrooms", "bedroom")),
    ("Bathrooms", ("bathrooms", "bathroom", "baths")),
    ("Square feet", ("square_feet", "sqft", "square_footage", "size_sqft")),
    ("Accommodates", ("accommodates", "max_guests")),
    ("Security deposit", ("security_deposit", "deposit")),
    ("Cleaning fee", ("cleaning_fee",)),
    ("Guests included", ("guests_included",)),
    ("Extra people fee", ("extra_people", "extra_people_fee", "extra_guest_fee")),
    ("Minimum nights", ("minimum_nights", "min_nights")),
    ("Maximum nights", ("maximum_nights", "max_nights")),
    ("Cancellation policy", ("cancellation_policy",)),
    ("Pets allowed", ("pets_allowed", "pets", "pet_policy")),
)
# Parts of the "Location:" line, joined with ", " (a part already contained is left out).
LOCATION_FIELDS: tuple[tuple[str, ...], ...] = (
    ("address", "street_address"),
    ("neighbourhood_cleansed", "neighbourhood", "neighborhood"),
    ("city", "cityname"),
    ("state",),
    ("zipcode", "zip", "postal_code"),
)
TYPE_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Property type", ("property_type",)),
    ("Room type", ("room_type",)),
)
# Free-text fields, most useful first (the passage cap cuts from the end).
TEXT_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Summary", ("summary",)),
    ("The space", ("space",)),
    ("Description", ("description", "body")),
    ("House rules", ("house_rules",)),
    ("Amenities", ("amenities",)),
    ("Notes", ("notes",)),
    ("Access", ("access",)),
    ("Interaction", ("interaction",)),
    ("Neighborhood", ("neighborhood_overview",)),
    ("Transit", ("transit",)),
)
FIELD_CAP = 600  # characters per free-text field
PASSAGE_CAP = 2000  # characters per listing passage
_MIN_FIELD_CHARS = 20  # a free-text field reduced below this by de-duplication is dropped
_WS = re.compile(r"\s+")


def _cap(text: str, limit: int) -> str:
    """Cut at the last space before `limit` characters and add an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,.;:") + "…"


def clean_amenities(value: str) -> str:
    """Inside Airbnb's '{TV,Wifi,"Air conditioning",...}' as 'TV, Wifi, Air conditioning, ...'
    (its 'translation missing: ...' placeholders removed); plain lists pass through."""
    items = [p.strip().strip('"').strip() for p in value.strip().strip("{}[]").split(",")]
    return ", ".join(i for i in items if i and not i.lower().startswith("translation missing"))


def _value(row: dict[str, Any], fields: list[str], aliases: tuple[str, ...]) -> str | None:
    key = find_field(fields, aliases)
    return clean_value(row.get(key)) if key is not None else None


def render_listing(row: dict[str, Any], fields: list[str], fallback_title: str) -> str:
    """The passage for one listing row (see the module docstring), at most PASSAGE_CAP characters."""
    title = _value(row, fields, TITLE_FIELDS) or fallback_title
    lines = [_WS.sub(" ", title)]
    for label, aliases in KEY_FIELDS:
        if (v := _value(row, fields, aliases)) is not None:
            lines.append(f"{label}: {_cap(_WS.sub(' ', v), 200)}")
    parts: list[str] = []
    for aliases in LOCATION_FIELDS:
        v = _value(row, fields, aliases)
        if v and not any(v.lower() in p.lower() for p in parts):
            parts.append(_WS.sub(" ", v))
    if parts:
        lines.append("Location: " + ", ".join(parts))
    for label, aliases in TYPE_FIELDS:
        if (v := _value(row, fields, aliases)) is not None:
            lines.append(f"{label}: {v}")
    kept: list[str] = []
    for label, aliases in TEXT_FIELDS:
        v = _value(row, fields, aliases)
        if v is None:
            continue
        text = _WS.sub(" ", clean_amenities(v) if label == "Amenities" else v).strip()
        reduced = False
        for k in kept:  # remove text another field already holds (Airbnb description = summary + space)
            if k in text:
                text, reduced = _WS.sub(" ", text.replace(k, " ")).strip(), True
        if not text or (reduced and len(text) < _MIN_FIELD_CHARS) or any(text in k for k in kept):
            continue
        kept.append(text)
        lines.append(f"{label}: {_cap(text, FIELD_CAP)}")
    out = lines[0]
    for line in lines[1:]:
        if len(out) + 1 + len(line) > PASSAGE_CAP:
            room = PASSAGE_CAP - len(out) - 1
            if room > 80:
                out += "\n" + _cap(line, room)
            break
        out += "\n" + line
    return out


def load_listings(path: Path, config: LoaderConfig) -> list[Document]:
    """One Document per listing row, doc_type "listing".

    Malformed rows (wrong field count, invalid JSON line) are skipped, counted and logged.
    Raises IngestError: "empty file", no data rows, unparsable CSV/JSON.
    """
    recs = read_records(path)
    if not recs.rows:
        raise IngestError(str(path), "no data rows" + (f" ({recs.skipped} malformed rows skipped)" if recs.skipped else ""))
    id_col = find_field(recs.fields, config.listing_id_fields)
    if id_col is None:
        log.info("%s: no id column (looked for %s); sources use row numbers", path.name, ", ".join(config.listing_id_fields))
    abspath = str(path.resolve())
    seen: dict[str, int] = {}
    docs: list[Document] = []
    for n, row in recs.rows:
        ident = clean_value(row.get(id_col)) if id_col is not None else None
        ident = ident or f"row{n}"
        seen[ident] = seen.get(ident, 0) + 1
        if seen[ident] > 1:
            log.warning("%s row %d: id %r repeats; source gets suffix -%d", path.name, n, ident, seen[ident])
            ident = f"{ident}-{seen[ident]}"
        meta: dict[str, Any] = {}
        for k, v in row.items():
            if str(k).strip() and (s := clean_value(v)) is not None:
                meta[str(k)] = s
        meta.setdefault("row", n)
        text = render_listing(row, recs.fields, f"Listing {ident}")
        docs.append(Document(text, f"{path.name}#{ident}", "listing", abspath, None, meta))
    if recs.skipped:
        log.warning("%s: %d listings loaded, %d malformed rows skipped", path.name, len(docs), recs.skipped)
    return docs
