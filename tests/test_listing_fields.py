"""Typed listing fields (ragbot.kb.ingest.fields) and the listing loader's malformed-row reports."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ragbot.config import LoaderConfig
from ragbot.errors import ConfigError, IngestError
from ragbot.kb.ingest.fields import (FieldSpec, canonical_names, infer_schema, infer_type, parse_bool, parse_date,
                                     parse_number, pet_flags)
from ragbot.kb.ingest.listings import MalformedRow, load_listings

CFG = LoaderConfig()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text,value", [("$1,350.00 ", 1350.0), ("85%", 85.0), ("2", 2.0), ("-3.5", -3.5), (".5", 0.5),
                                        ("$ 40", 40.0), ("1200 USD", 1200.0), ("abc", None), ("", None), ("null", None),
                                        ("1,35", None), ("$", None), (7, 7.0), (True, None)])
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_parse_bool_and_date():
    assert [parse_bool(v) for v in ("t", "FALSE", "Yes", "n", "maybe", "")] == [True, False, True, False, None, None]
    assert parse_date("7/17/18", "%m/%d/%y") == "2018-07-17"
    assert parse_date("2019-12-01", "%Y-%m-%d") == "2019-12-01"
    assert parse_date("1577836800", "epoch") == "2020-01-01"
    assert parse_date("13/13/18", "%m/%d/%y") is None


@pytest.mark.parametrize("name,values,typ", [
    ("price", ["$85.00 ", "$1,200.00"], "money"),
    ("rent_amount", ["850", "900"], "money"),  # a money word in the name
    ("weekly", ["$250", "300"], "money"),  # a currency sign in a value
    ("accommodates", ["2", "4", "6"], "number"),
    ("host_is_superhost", ["t", "f", "t"], "boolean"),
    ("fee", ["No", "No"], "boolean"),
    ("host_since", ["11/6/17", "4/2/18"], "date"),
    ("listed", ["2020-01-03", "2021-12-30"], "date"),
    ("bed_type", ["Real Bed", "Futon"] * 5, "category"),
    ("summary", ["A lovely flat near the park", "Quiet room"], "text"),
    ("zipcode", ["02139", "43201", "43201"], "category"),
    ("empty", [], "text"),
])
def test_infer_type(name, values, typ):
    assert infer_type(name, values)[0] == typ


def test_canonical_names_and_aliases():
    cols = ["ID", "Rent", "Beds", "Baths", "SqFt", "CityName", "State", "Pets", "Title", "Notes"]
    assert canonical_names(cols) == {"ID": "id", "Rent": "price", "Beds": "bedrooms", "Baths": "bathrooms",
                                     "SqFt": "square_feet", "CityName": "city", "State": "state", "Pets": "pets",
                                     "Title": "title", "Notes": "notes"}
    # Airbnb: bedrooms and beds both exist; beds keeps its own name; an empty alias loses to a filled one
    names = canonical_names(["bedrooms", "beds", "neighbourhood", "neighbourhood_cleansed"],
                            {"neighbourhood": True, "neighbourhood_cleansed": False})
    assert names["bedrooms"] == "bedrooms" and names["beds"] == "beds" and names["neighbourhood"] == "neighbourhood"


def test_schema_converts_rows_and_overrides():
    rows = [{"id": "7", "price": "$1,200", "bedrooms": "2", "City": " Phoenix ", "pets_allowed": "Cats,Dogs",
             "available": "2024-05-01", "zip": "02139", "parking": "yes"},
            {"id": "8", "price": "null", "bedrooms": "", "City": "Tucson", "pets_allowed": "None",
             "available": "2024-06-01", "zip": "85701", "parking": "no"}]
    schema = infer_schema(list(rows[0]), rows, overrides={"zip": "text", "available": "date"})
    assert schema.types()["zip"] == "text" and schema.types()["price"] == "money"
    assert schema.convert(rows[0]) == {"id": "7", "price": 1200.0, "bedrooms": 2.0, "city": "phoenix", "pets": "cats,dogs",
                                       "available": "2024-05-01", "parking": True, "pets_allowed": True,
                                       "cats_allowed": True, "dogs_allowed": True}
    second = schema.convert(rows[1])
    assert "price" not in second and "bedrooms" not in second and second["cats_allowed"] is False
    with pytest.raises(ConfigError, match="listings.fields"):
        infer_schema(list(rows[0]), rows, overrides={"zip": "postcode"})


def test_override_of_unparsable_values_leaves_them_out():
    rows = [{"size": "big"}, {"size": "120"}]
    schema = infer_schema(["size"], rows, overrides={"size": "number"})
    assert [schema.convert(r) for r in rows] == [{}, {"size": 120.0}]
    assert schema.specs == (FieldSpec("size", "size", "number", None),)


@pytest.mark.parametrize("cell,flags", [("Cats,Dogs", (True, True, True)), ("Cats", (True, True, False)),
                                        ("Dogs", (True, False, True)), ("None", (False, False, False)),
                                        ("Yes", (True, True, True)), ("null", None), ("", None)])
def test_pet_flags(cell, flags):
    got = pet_flags(cell)
    assert (got == {}) if flags is None else (got == dict(zip(("pets_allowed", "cats_allowed", "dogs_allowed"), flags)))


def test_loader_stores_typed_fields(tmp_path):
    f = tmp_path / "units.csv"
    with open(f, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["id", "title", "rent", "beds", "cityname", "pets_allowed"],
                                  ["a1", "Loft", "$1,200", "2", "Phoenix", "Cats"],
                                  ["a2", "Flat", "950", "1", "Tucson", "None"]])
    docs = load_listings(f, CFG)
    assert docs[0].metadata["fields"] == {"id": "a1", "title": "Loft", "price": 1200.0, "bedrooms": 2.0, "city": "phoenix",
                                          "pets": "cats", "pets_allowed": True, "cats_allowed": True,
                                          "dogs_allowed": False}
    assert docs[1].metadata["fields"]["price"] == 950.0 and docs[0].metadata["rent"] == "$1,200"
    typed = load_listings(f, CFG, field_types={"beds": "text", "title": "category"})
    assert typed[0].metadata["fields"]["bedrooms"] == "2" and typed[0].metadata["fields"]["title"] == "loft"


# ---------------------------------------------------------------- malformed rows
SIX_ROWS_BAD_QUOTE = 'id,name,price\n1,Oak,900\n2,Elm,950\n3,"Pine,1000\n4,Ash,1050\n5,Fir,1100\n6,Yew,1150\n'


def test_unterminated_quote_rows_after_it_are_recovered_and_the_row_reported(tmp_path):
    f = write(tmp_path / "six.csv", SIX_ROWS_BAD_QUOTE)
    warnings: list[MalformedRow] = []
    docs = load_listings(f, CFG, warnings=warnings)
    assert [d.source for d in docs] == ["six.csv#1", "six.csv#2", "six.csv#4", "six.csv#5", "six.csv#6"]
    assert [(w.path, w.row, w.line) for w in warnings] == [("six.csv", 3, 4)]
    assert "quote" in warnings[0].reason and "row 3" in warnings[0].reason
    assert warnings[0].to_dict() == {"path": "six.csv", "row": 3, "line": 4, "reason": warnings[0].reason}


def test_without_a_warnings_list_the_file_is_rejected_naming_the_row(tmp_path):
    f = write(tmp_path / "six.csv", SIX_ROWS_BAD_QUOTE)
    with pytest.raises(IngestError, match=r"1 malformed row: row 3 \(line 4\).*close the quote"):
        load_listings(f, CFG)


@pytest.mark.parametrize("text,bad_rows,sources", [
    # a quote closed three lines later: lines 3-5 read as one row with the wrong field count
    ('id,name,price\n1,a,5\n2,"b,6\n3,c,7\n4,d",8,9\n5,e,10\n', [2, 4], ["1", "3", "5"]),
    # stray text after a closing quote
    ('id,name,price\n1,a,5\n2,"b"x,6\n3,c,7\n', [2], ["1", "3"]),
    # too many / too few fields
    ('id,name,price\n1,a,5\n2,b,6,9\n3,c\n4,d,8\n', [2, 3], ["1", "4"]),
    # a legitimate multi-line quoted value is not malformed
    ('id,name,price\n1,"two\nlines",5\n2,b,6\n', [], ["1", "2"]),
    # semicolons and blank lines
    ('id;name;price\n\n1;a;5\n2;"b;6\n3;c;7\n', [2], ["1", "3"]),
])
def test_malformed_csv_shapes(tmp_path, text, bad_rows, sources):
    f = write(tmp_path / "t.csv", text)
    warnings: list[MalformedRow] = []
    docs = load_listings(f, CFG, warnings=warnings)
    assert [w.row for w in warnings] == bad_rows
    assert [d.source for d in docs] == [f"t.csv#{s}" for s in sources]


def test_malformed_json_items_and_jsonl_lines_are_reported(tmp_path):
    warnings: list[MalformedRow] = []
    docs = load_listings(write(tmp_path / "l.json", '[{"id": 1, "rent": 900}, 3, {"id": 2, "rent": 950}]'), CFG,
                         warnings=warnings)
    assert [d.source for d in docs] == ["l.json#1", "l.json#2"] and [w.row for w in warnings] == [2]
    warnings = []
    load_listings(write(tmp_path / "l.jsonl", '{"id": 1}\nnot json\n\n[1]\n{"id": 2}\n'), CFG, warnings=warnings)
    assert [w.row for w in warnings] == [2, 4]


def test_only_malformed_rows_is_no_data(tmp_path):
    with pytest.raises(IngestError, match="no data rows"):
        load_listings(write(tmp_path / "b.csv", 'id,name\n1,"a\n'), CFG, warnings=[])


def test_kb_ingest_never_loses_the_bad_row_silently(tmp_path, hashing_embedder):
    """Through KnowledgeBase.ingest: row 3 is named in the report (a skipped file today; a row
    warning once the pipeline passes a warnings list), never just a lower count."""
    from ragbot.kb import KnowledgeBase

    (tmp_path / "listings").mkdir()
    f = write(tmp_path / "listings" / "six.csv", SIX_ROWS_BAD_QUOTE)
    kb = KnowledgeBase.open(tmp_path / "kb", embedder=hashing_embedder, create=True)
    report = kb.ingest([f]).to_dict()
    texts = [s["reason"] for s in report["skipped"]] + [w.get("reason", "") for w in report.get("warnings", [])]
    assert any("row 3" in t for t in texts), report
    assert report["added"] == 0 or len(kb) == 5


def test_corpus_listings_have_typed_fields(corpus):
    uci = load_listings(corpus / "listings" / "uci_apartments_for_rent_10k.csv", CFG, warnings=(w := []))
    assert len(uci) == 10000 and w == []
    first = uci[0].metadata["fields"]
    assert first["price"] == 790.0 and first["bedrooms"] == 0.0 and first["city"] == "washington"
    assert first["state"] == "dc" and first["cats_allowed"] is False and first["square_feet"] == 101.0
    airbnb = load_listings(corpus / "listings" / "insideairbnb_columbus_oh_2018-07_listings.csv", CFG, warnings=w)
    assert len(airbnb) == 1013 and w == []
    f = airbnb[0].metadata["fields"]
    assert f["price"] == 198.0 and f["room_type"] == "entire home/apt" and f["neighbourhood"] == "near north/university"
    assert f["minimum_nights"] == 1.0 and f["host_since"] == "2011-04-04" and f["instant_bookable"] is True
