"""Typed listing and catalog columns: canonical names, inferred types, converted values.

A listing row's cells are strings. `infer_schema` gives every column a canonical name and a
type; `FieldSchema.convert(row)` turns a row into ``{canonical name: typed value}``, which the
listing loader stores in each Document's metadata under ``"fields"`` and listing search filters
and sorts on (``json_extract(metadata, '$.fields.price')``).

Canonical names (ALIASES): for each canonical name the first alias column (case-insensitive)
holding at least one value is used, e.g. ``rent`` -> ``price``, ``beds`` -> ``bedrooms`` (only
when there is no ``bedrooms`` column: Inside Airbnb's ``beds`` counts beds and stays ``beds``),
``sqft`` -> ``square_feet``, ``cityname`` -> ``city``, ``neighbourhood_cleansed`` ->
``neighbourhood``, ``name`` -> ``title``. Other columns keep their own name lower-cased with runs
of other characters than ``[a-z0-9]`` replaced by ``_``; a column whose name is empty or collides
with a name already taken is left out.

Types (FIELD_TYPES), in this order of precedence:
1. an override (``listings.fields`` in config: column or canonical name -> type);
2. the canonical default (DEFAULT_TYPES: price money, bedrooms number, city category, ...);
3. inferred from the column's non-empty values (empty, "null", "nan", "n/a" are no value):
   - category: codes whatever their values (the name is id, zip, zipcode, postal_code, phone,
     sku, code or ends in _id, _zip, ...), so 02139 keeps its zero and ids compare as strings;
   - boolean: every value is one of t/f, true/false, yes/no, y/n;
   - money: every value is a number and at least one has a currency sign ($ € £), or the name
     holds price/rent/fee/deposit/cost and every value is a number;
   - number: every value is a number (thousands commas, a trailing % are allowed);
   - date: every value parses with one of DATE_FORMATS (the first format that fits all);
   - category: at most 50 distinct values, each at most 40 characters, and at most half as
     many distinct values as values (so free text with few rows stays text);
   - text: anything else.

Converted values: money and number -> float; boolean -> bool; category -> str, stripped and
lower-cased; date -> ISO "YYYY-MM-DD" str; text -> str as written. A value that does not parse
as its column's type (possible with an override) is left out of the row's dict. Only the
canonical columns and columns that are not text are kept (free text stays in metadata as
strings). A pets column (``pets``: "Cats,Dogs", "None", yes/no) also gives the booleans
``pets_allowed``, ``cats_allowed`` and ``dogs_allowed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

from ragbot.errors import ConfigError

from ragbot.config import FIELD_TYPES  # noqa: E402  (one list, shared with ListingsConfig)

# canonical name -> column names that mean it, first present wins
ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "name", "listing_name", "headline", "property_name"),
    "price": ("price", "rent", "monthly_rent", "list_price", "price_usd"),
    "bedrooms": ("bedrooms", "bedroom", "beds", "br"),
    "bathrooms": ("bathrooms", "bathroom", "baths", "ba"),
    "square_feet": ("square_feet", "sqft", "square_footage", "size_sqft", "sq_ft", "area_sqft"),
    "city": ("city", "cityname", "city_name", "town"),
    "state": ("state", "state_code", "province"),
    "pets": ("pets_allowed", "pets", "pet_policy"),
    "room_type": ("room_type",),
    "property_type": ("property_type",),
    "neighbourhood": ("neighbourhood_cleansed", "neighbourhood", "neighborhood_cleansed", "neighborhood"),
    "minimum_nights": ("minimum_nights", "min_nights"),
    "listed_date": ("listed_date", "date_listed", "listing_date", "listed_at", "posted_at", "created_at", "time"),
}
DEFAULT_TYPES: dict[str, str] = {
    "title": "text", "price": "money", "bedrooms": "number", "bathrooms": "number", "square_feet": "number",
    "city": "category", "state": "category", "pets": "category", "room_type": "category",
    "property_type": "category", "neighbourhood": "category", "minimum_nights": "number", "listed_date": "date",
}
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d/%m/%Y", "%d/%m/%y", "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S", "%d.%m.%Y")
CATEGORY_MAX_DISTINCT = 50
CATEGORY_MAX_CHARS = 40
_EMPTY = frozenset({"", "null", "nan", "n/a", "#n/a"})
_TRUE = frozenset({"t", "true", "yes", "y"})
_FALSE = frozenset({"f", "false", "no", "n"})
_NUMBER = re.compile(r"^\s*(?P<sign>[-+]?)\s*(?P<cur>[$€£])?\s*(?P<num>\d{1,3}(?:,\d{3})+|\d+)?(?P<dec>\.\d+)?"
                     r"\s*(?P<pct>%)?\s*(?:usd|eur|gbp)?\s*$", re.IGNORECASE)
_MONEY_NAME = re.compile(r"price|rent|fee|deposit|cost|amount")
_NAME_JUNK = re.compile(r"[^a-z0-9]+")
_CODE_NAME = re.compile(r"(^|_)(id|zip|zipcode|postal_code|postcode|phone|sku|code)$")
_NO_PETS = frozenset({"none", "no", "n", "f", "false", "not allowed", "no pets"})


@dataclass(frozen=True)
class FieldSpec:
    """One column: `column` as in the file, `name` canonical, `type` one of FIELD_TYPES,
    `date_format` the strptime format of a date column ("epoch" for Unix seconds), else None."""

    column: str
    name: str
    type: str
    date_format: str | None = None


def normalise_name(column: str) -> str:
    """'Square Feet ' -> 'square_feet'; '' when nothing is left."""
    return _NAME_JUNK.sub("_", str(column).strip().lower()).strip("_")


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return None if s.lower() in _EMPTY else s


def parse_number(value: Any) -> float | None:
    """'$1,350.00 ' -> 1350.0, '85%' -> 85.0, 2 -> 2.0; None when it is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value == value else None
    s = _cell(value)
    if s is None:
        return None
    m = _NUMBER.match(s)
    if not m or not (m["num"] or m["dec"]):
        return None
    out = float((m["num"] or "0").replace(",", "") + (m["dec"] or ""))
    return -out if m["sign"] == "-" else out


def _has_currency(value: Any) -> bool:
    m = _NUMBER.match(str(value)) if isinstance(value, str) else None
    return bool(m and m["cur"])


def parse_bool(value: Any) -> bool | None:
    """t/true/yes/y -> True, f/false/no/n -> False (any case); a bool as is; else None."""
    if isinstance(value, bool):
        return value
    s = _cell(value)
    if s is None:
        return None
    low = s.lower()
    return True if low in _TRUE else False if low in _FALSE else None


def parse_date(value: Any, fmt: str) -> str | None:
    """The ISO date 'YYYY-MM-DD' of `value` read with strptime format `fmt` ("epoch": Unix seconds)."""
    s = _cell(value)
    if s is None:
        return None
    try:
        if fmt == "epoch":
            return datetime.fromtimestamp(float(s), tz=timezone.utc).date().isoformat()
        return datetime.strptime(s, fmt).date().isoformat()
    except (ValueError, OverflowError, OSError):
        return None


def _date_format(values: Sequence[str]) -> str | None:
    for fmt in DATE_FORMATS:
        if all(parse_date(v, fmt) is not None for v in values):
            return fmt
    if values and all(re.fullmatch(r"\d{9,10}", v) for v in values):
        return "epoch"
    return None


def infer_type(name: str, values: Sequence[str]) -> tuple[str, str | None]:
    """(type, date_format) of a column from its name and non-empty string values (rules in the
    module docstring). An empty column is 'text'."""
    if not values:
        return "text", None
    if all(v.lower() in _TRUE or v.lower() in _FALSE for v in values):
        return "boolean", None
    if _CODE_NAME.search(name):
        return "category", None
    if all(parse_number(v) is not None for v in values):
        if any(_has_currency(v) for v in values) or _MONEY_NAME.search(name):
            return "money", None
        return "number", None
    fmt = _date_format(values) if any(ch.isdigit() for ch in values[0]) else None
    if fmt is not None:
        return "date", fmt
    distinct = {v.lower() for v in values}
    if (len(distinct) <= CATEGORY_MAX_DISTINCT and max(map(len, distinct)) <= CATEGORY_MAX_CHARS
            and len(distinct) * 2 <= len(values)):
        return "category", None
    return "text", None


def _check_overrides(overrides: Mapping[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for col, typ in (overrides or {}).items():
        t = str(typ).strip().lower()
        if t not in FIELD_TYPES:
            raise ConfigError(f"listings.fields[{col!r}] = {typ!r} is not a field type; use one of: "
                              f"{', '.join(FIELD_TYPES)}")
        out[normalise_name(col)] = t
    return out


def canonical_names(columns: Sequence[str], has_values: Mapping[str, bool] | None = None) -> dict[str, str]:
    """{column as in the file: canonical name} for the columns that get one (see module docstring).
    `has_values[column]` False makes an alias column lose to a later alias with values."""
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(normalise_name(c), c)
    out: dict[str, str] = {}
    taken: set[str] = set()
    for canon, aliases in ALIASES.items():
        present = [by_norm[a] for a in aliases if a in by_norm and by_norm[a] not in out]
        with_values = [c for c in present if has_values is None or has_values.get(c, True)]
        if present:
            out[(with_values or present)[0]] = canon
            taken.add(canon)
    for c in columns:
        n = normalise_name(c)
        if c not in out and n and n not in taken:
            out[c] = n
            taken.add(n)
    return out


@dataclass(frozen=True)
class FieldSchema:
    """The typed columns of one table. `specs` in column order."""

    specs: tuple[FieldSpec, ...]

    def types(self) -> dict[str, str]:
        """{canonical name: type}."""
        return {s.name: s.type for s in self.specs}

    def convert(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """{canonical name: typed value} of one row (types in the module docstring); empty and
        unparsable cells are left out, as are text columns other than canonical ones."""
        out: dict[str, Any] = {}
        for s in self.specs:
            v = convert_value(row.get(s.column), s)
            if v is not None:
                out[s.name] = v
        pets = next((s.column for s in self.specs if s.name == "pets"), None)
        if pets is not None:
            out.update(pet_flags(row.get(pets)))
        return out


def convert_value(value: Any, spec: FieldSpec) -> Any:
    """One cell as `spec.type` (None when empty or unparsable); text only for canonical names."""
    t = spec.type
    if t in ("number", "money"):
        return parse_number(value)
    if t == "boolean":
        return parse_bool(value)
    if t == "date":
        return parse_date(value, spec.date_format or "%Y-%m-%d")
    s = _cell(value)
    if s is None:
        return None
    if t == "category":
        return re.sub(r"\s+", " ", s).lower()
    return s if spec.name in ALIASES else None


def pet_flags(value: Any) -> dict[str, bool]:
    """{'pets_allowed', 'cats_allowed', 'dogs_allowed'} from a pets cell: 'Cats,Dogs' -> all
    True; 'Cats' -> cats only; 'None'/'No' -> all False; 'Yes'/'Pets allowed' -> all True;
    an empty or unknown cell -> {} (unknown, so it matches no pet constraint)."""
    if value is None or str(value).strip().lower() in ("", "null", "nan", "n/a"):
        return {}
    s = str(value).strip().lower()
    if s in _NO_PETS:
        return {"pets_allowed": False, "cats_allowed": False, "dogs_allowed": False}
    cats = "cat" in s and not re.search(r"\bno cats?\b|\bdogs? only\b", s)  # "Cats only (... no dogs)"
    dogs = "dog" in s and not re.search(r"\bno dogs?\b|\bcats? only\b", s)
    if cats or dogs:
        return {"pets_allowed": True, "cats_allowed": cats, "dogs_allowed": dogs}
    if parse_bool(s) or s in ("allowed", "pets allowed", "pet friendly", "ok"):
        return {"pets_allowed": True, "cats_allowed": True, "dogs_allowed": True}
    return {}


def infer_schema(columns: Sequence[str], rows: Iterable[Mapping[str, Any]],
                 overrides: Mapping[str, str] | None = None) -> FieldSchema:
    """The FieldSchema of a table from all its rows (dicts keyed by `columns`).

    overrides: {column or canonical name: type}, e.g. {"zip": "category"} (config
    `listings.fields`). Raises ConfigError for a type not in FIELD_TYPES.
    """
    forced = _check_overrides(overrides)
    columns = [c for c in columns if normalise_name(c)]
    values: dict[str, list[str]] = {c: [] for c in columns}
    for row in rows:
        for c in columns:
            s = _cell(row.get(c))
            if s is not None:
                values[c].append(s)
    names = canonical_names(columns, {c: bool(v) for c, v in values.items()})
    specs = []
    for c in columns:
        if c not in names:
            continue
        name = names[c]
        typ = forced.get(normalise_name(c)) or forced.get(name) or DEFAULT_TYPES.get(name)
        fmt = None
        if typ is None:
            typ, fmt = infer_type(name, values[c])
        elif typ == "date":
            fmt = _date_format(values[c]) or "%Y-%m-%d"
        specs.append(FieldSpec(c, name, typ, fmt))
    return FieldSchema(tuple(specs))
