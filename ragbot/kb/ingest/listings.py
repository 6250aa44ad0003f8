"""Listing loader: one Document per row of a CSV/TSV, JSON or JSONL file of rental listings.

source is "<file name>#<id>" (id column from LoaderConfig.listing_id_fields, case-insensitive;
"row<N>" with the 1-based data row when there is no id). The text is a short passage built
for embedding: a title line, key facts ("Price: $198.00", "Bedrooms: 3", ...), then the
descriptive fields, each capped, with fields whose text another field already holds left out
(Inside Airbnb's `description` is `summary` + `space` + ..., truncated). Column names follow
Inside Airbnb (insideairbnb.com data dictionary) and the UCI "Apartment for Rent Classified"
data set; others are matched by the alias table below. Every non-empty column is kept in
metadata as a string, plus "row" and "fields": the row's typed values under canonical names
(ragbot.kb.ingest.fields: {"price": 790.0, "bedrooms": 2.0, "city": "phoenix", "cats_allowed":
True, ...}), which listing search filters on.

Malformed rows are never dropped silently. A CSV row is malformed when its field count differs
from the header's or its quoting is broken (csv strict mode). The classic case is an unterminated
quote: the csv module then reads every following line into one field until the next quote (or
the end of the file), so one bad row swallows the rows after it. The reader here notices
(the record has the wrong field count, or strict mode fails) and restarts on the physical line
after the bad row's first line, so the rows after it are recovered. Each malformed row is
reported as a MalformedRow (data row number, line, what to fix) to the caller's `warnings` list;
a caller that passes no list gets an IngestError naming the rows instead of a partial load.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from ragbot.config import LoaderConfig
from ragbot.errors import IngestError
from ragbot.types import Document, MalformedRow
from ragbot.kb.ingest._io import Records, _sniff_delimiter, clean_value, find_field, read_records, read_text
from ragbot.kb.ingest.fields import infer_schema

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


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _records(lines: list[str], start: int, delimiter: str) -> Iterator[tuple[int, int, list[str] | None, str]]:
    """(first line index, last line index, fields or None, csv error) of each record from lines[start:].
    Stops after the first strict-mode error (the caller restarts)."""
    reader = csv.reader(iter(lines[start:]), delimiter=delimiter, strict=True)
    done = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield start + done, start + max(done, reader.line_num - 1), None, str(e)
            return
        yield start + done, start + reader.line_num - 1, row, ""
        done = reader.line_num


def _bad_row_reason(n: int, first: int, last: int, got: int | None, want: int, error: str, delimiter: str) -> str:
    where = f"row {n} (line {first + 1})"
    if got is None and "end of data" in error:
        return (f"{where}: a quote opened in this row is never closed, so the rest of the file (lines {first + 1}-"
                f"{last + 1}) reads as one value; close the quote or double it (\"\") and re-ingest")
    if got is None:
        return f"{where}: broken quoting ({error}); make each quote a pair or double quotes inside a quoted field (\"\")"
    if last > first:
        return (f"{where}: a quote opened in this row is not closed, so lines {first + 1}-{last + 1} were read as "
                f"one row ({got} fields, the header has {want}); close the quote or double it (\"\") and re-ingest")
    return (f"{where}: has {got} fields, the header has {want}; put quotes around values that contain "
            f"{'a tab' if delimiter == chr(9) else repr(delimiter)}, or add the missing fields")


def read_csv_checked(path: Path, text: str) -> tuple[Records, list[MalformedRow]]:
    """Parse CSV/TSV text like _io.read_csv_records, recovering the rows after a malformed one
    (see the module docstring). Returns the records and the malformed rows, in file order.
    Raises IngestError when there is no header line."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(text)
    lines = _LINE.findall(text)
    out, bad = Records(), []
    header: list[str] | None = None
    n, pos = 0, 0
    while pos < len(lines):
        restart = None
        for first, last, row, error in _records(lines, pos, delimiter):
            if row is not None and not any(c.strip() for c in row):
                continue
            if header is None and row is not None:
                header = row
                out.fields = [h.strip() for h in header]
                continue
            n += 1
            if row is not None and len(row) == len(header or ()):
                out.rows.append((n, dict(zip(out.fields, row))))
                continue
            got = None if row is None else len(row)
            bad.append(MalformedRow(path.name, n, first + 1,
                                    _bad_row_reason(n, first, last, got, len(header or ()), error, delimiter)))
            if row is None or last > first:
                restart = first + 1
                break
        if restart is None:
            break
        pos = restart
    if header is None:
        raise IngestError(str(path), "empty file" if not bad else f"no readable header line: {bad[0].reason}")
    out.skipped = len(bad)
    return out, bad


def _read(path: Path) -> tuple[Records, list[MalformedRow]]:
    """Records and malformed rows of a listing file (.csv/.tsv checked here; .json/.jsonl via _io)."""
    if path.suffix.lower() not in (".json", ".jsonl"):
        return read_csv_checked(path, read_text(path))
    recs = read_records(path)
    if not recs.skipped:
        return recs, []
    good = {n for n, _ in recs.rows}
    if path.suffix.lower() == ".jsonl":
        lines = read_text(path).splitlines()
        return recs, [MalformedRow(path.name, i, i, f"line {i}: not a JSON object; fix or remove the line")
                      for i, line in enumerate(lines, 1) if line.strip() and i not in good]
    last = len(recs.rows) + recs.skipped  # JSON: items are numbered by list position
    return recs, [MalformedRow(path.name, i, None, f"item {i}: not an object; write it as {{\"field\": value, ...}}")
                  for i in range(1, last + 1) if i not in good]


def load_listings(path: Path, config: LoaderConfig, field_types: Mapping[str, str] | None = None,
                  warnings: list[MalformedRow] | None = None) -> list[Document]:
    """One Document per listing row, doc_type "listing"; metadata["fields"] holds the typed values.

    field_types: {column or canonical name: type} overrides (config `listings.fields`; see
    fields.infer_schema). warnings: a list to which each malformed row is appended as a
    MalformedRow; the good rows, including those after a bad one, are loaded. With warnings=None
    a file with malformed rows raises IngestError naming them (no row is lost silently).
    Raises IngestError: empty file, no data rows, unparsable JSON; ConfigError: bad field_types.
    """
    recs, bad = _read(path)
    for b in bad:
        log.warning("%s: %s", path.name, b.reason)
    if bad and warnings is None:
        shown = "; ".join(b.reason for b in bad[:3]) + (f"; and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise IngestError(str(path), f"{len(bad)} malformed row{'s' if len(bad) > 1 else ''}: {shown}")
    if warnings is not None:
        warnings.extend(bad)
    if not recs.rows:
        raise IngestError(str(path), "no data rows" + (f" ({len(bad)} malformed rows)" if bad else ""))
    schema = infer_schema(recs.fields, (r for _, r in recs.rows), field_types)
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
        meta["fields"] = schema.convert(row)
        text = render_listing(row, recs.fields, f"Listing {ident}")
        docs.append(Document(text, f"{path.name}#{ident}", "listing", abspath, None, meta))
    if bad:
        log.warning("%s: %d listings loaded, %d malformed rows reported", path.name, len(docs), len(bad))
    return docs
