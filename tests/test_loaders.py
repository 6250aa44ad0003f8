"""Loaders and doc_type detection: tmp files written here plus the real ../shared/corpus files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ragbot.config import LoaderConfig
from ragbot.errors import ConfigError, IngestError
from ragbot.kb.ingest import SUPPORTED_EXTENSIONS, detect_doc_type, load_file
from ragbot.kb.ingest.pdf import clean_pdf_text, is_xfa_notice

CFG = LoaderConfig()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def make_pdf(path: Path, pages: list[str]) -> Path:
    """A PDF with one page per string (an empty string gives a page without text)."""
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.set_font("helvetica", size=11)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def encrypt_pdf(src: Path, dst: Path, user_password: str) -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(src))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    writer.write(str(dst))
    return dst


def skip_reason(path: Path, doc_type: str) -> str:
    with pytest.raises(IngestError) as exc:
        load_file(path, doc_type, CFG)
    assert exc.value.path == str(path)
    return exc.value.reason


LEASE_TEXT = ("The security deposit is one thousand dollars and is held in trust. The tenant must give "
              "sixty days written notice before the end of the term. Rent is due on the first day of each month.")


# ---------------------------------------------------------------- detection
def test_detect_override_wins_and_is_validated(tmp_path):
    f = write(tmp_path / "faqs" / "x.csv", "question,answer\nq?,a\n")
    assert detect_doc_type(f, "Lease") == "lease"
    with pytest.raises(ConfigError, match="one of"):
        detect_doc_type(f, "brochure")


@pytest.mark.parametrize("rel,expected", [
    ("faqs/a.csv", "faq"), ("FAQ/a.md", "faq"), ("leases/a.pdf", "lease"), ("lease/a.txt", "lease"),
    ("listings/a.csv", "listing"), ("marketing/a.html", "marketing"), ("listings/faqs/a.json", "faq"),
    ("faqs/listings/a.csv", "listing"), ("docs/a.pdf", "document"), ("docs/a.md", "document"),
    ("docs/a.txt", "document"), ("docs/a.htm", "document"),
    ("faqs/a.pdf", "document"),  # a PDF cannot be FAQ pairs
])
def test_detect_by_folder_and_extension(tmp_path, rel, expected):
    f = write(tmp_path / rel, "id,price\n1,2\n" if rel.endswith((".csv", ".json")) else "x")
    if rel.endswith(".json"):
        write(f, json.dumps([{"id": 1, "price": 2}]))
    assert detect_doc_type(f) == expected


def test_detect_tables_by_columns(tmp_path):
    assert detect_doc_type(write(tmp_path / "a.csv", "Query;Response\nq;a\n")) == "faq"
    assert detect_doc_type(write(tmp_path / "b.csv", "id,price,bedrooms\n1,2,3\n")) == "listing"
    assert detect_doc_type(write(tmp_path / "c.jsonl", '{"prompt": "q", "output": "a"}\n')) == "faq"
    assert detect_doc_type(write(tmp_path / "d.json", json.dumps({"faqs": [{"Question": "q", "Answer": "a"}]}))) == "faq"
    assert detect_doc_type(write(tmp_path / "e.json", json.dumps([{"id": 1, "rent": 900}]))) == "listing"
    # the full UCI data set has title/body (FAQ aliases) but is a listing table
    assert detect_doc_type(write(tmp_path / "f.csv", "id,title,body,price,bedrooms\n1,t,b,900,2\n")) == "listing"


# ---------------------------------------------------------------- any file
def test_unsupported_and_missing(tmp_path):
    assert ".pdf" in SUPPORTED_EXTENSIONS and ".csv" in SUPPORTED_EXTENSIONS
    reason = skip_reason(write(tmp_path / "a.docx", "x"), "document")
    assert "unsupported" in reason and ".docx" in reason
    assert "not found" in skip_reason(tmp_path / "nope.pdf", "lease")
    with pytest.raises(ConfigError):
        load_file(write(tmp_path / "a.txt", "x"), "brochure", CFG)


@pytest.mark.parametrize("name,doc_type", [
    ("a.pdf", "lease"), ("a.csv", "faq"), ("b.csv", "listing"), ("a.json", "faq"), ("a.jsonl", "listing"),
    ("a.md", "document"), ("b.md", "faq"), ("a.txt", "marketing"), ("a.html", "document"),
])
def test_empty_files_are_skipped(tmp_path, name, doc_type):
    assert skip_reason(write(tmp_path / name, ""), doc_type) == "empty file"


@pytest.mark.parametrize("name,doc_type", [("a.txt", "document"), ("a.md", "marketing"), ("a.csv", "faq"),
                                           ("a.csv", "listing"), ("a.jsonl", "faq")])
def test_whitespace_only_files_are_empty(tmp_path, name, doc_type):
    assert skip_reason(write(tmp_path / name, " \n\t\n  "), doc_type) == "empty file"


# ---------------------------------------------------------------- FAQ tables
def test_faq_csv_aliases_metadata_and_bad_rows(tmp_path):
    f = write(tmp_path / "faqs.csv", "QUERY,Response,Category\n"
                                     "When is rent due?,On the 1st of the month.,rent\n"
                                     "Is there parking?,,parking\n"
                                     "Can I paint the walls?,Yes with written approval.,\n")
    docs = load_file(f, "faq", CFG)
    assert [d.metadata["row"] for d in docs] == [1, 3]
    d = docs[0]
    assert d.text == "Q: When is rent due?\nA: On the 1st of the month."
    assert (d.source, d.doc_type, d.page) == ("faqs.csv", "faq", None)
    assert d.metadata == {"question": "When is rent due?", "answer": "On the 1st of the month.", "row": 1,
                          "Category": "rent"}
    assert "Category" not in docs[1].metadata  # empty cell dropped
    assert Path(d.path).is_absolute()


def test_faq_csv_without_question_answer_columns(tmp_path):
    reason = skip_reason(write(tmp_path / "faqs.csv", "topic,details\nrent,due on the 1st\n"), "faq")
    assert "'topic'" in reason and "'details'" in reason and "question" in reason and "response" in reason


def test_faq_csv_without_any_valid_row(tmp_path):
    reason = skip_reason(write(tmp_path / "faqs.csv", "question,answer\nq1?,\n,a2\n"), "faq")
    assert "no row" in reason


def test_faq_csv_semicolon_cp1252_and_malformed_rows(tmp_path, caplog):
    text = ("question;answer\n"
            "Is the café open on Sundays?;Yes, from 9 to 5.\n"
            "Broken row;with;too;many;fields\n"
            "Where is the laundry?;In the basement.\n")
    f = write(tmp_path / "faqs.csv", text, encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        f.read_bytes().decode("utf-8")
    with caplog.at_level("WARNING"):
        docs = load_file(f, "faq", CFG)
    assert [d.metadata["question"] for d in docs] == ["Is the café open on Sundays?", "Where is the laundry?"]
    assert [d.metadata["row"] for d in docs] == [1, 3]
    assert "cp1252" in caplog.text and "row 2" in caplog.text


def test_faq_json_list_object_and_jsonl(tmp_path):
    items = [{"Question": "Are pets allowed?", "Answer": "Cats only.", "tags": ["pets"]},
             {"question": "Is smoking allowed?", "answer": "No.", "id": 7}]
    docs = load_file(write(tmp_path / "a.json", json.dumps(items)), "faq", CFG)
    assert [d.metadata["question"] for d in docs] == ["Are pets allowed?", "Is smoking allowed?"]
    assert docs[0].metadata["tags"] == ["pets"] and docs[1].metadata["id"] == 7
    wrapped = {"version": 2, "authors": [{"name": "x"}], "faqs": items}
    docs = load_file(write(tmp_path / "b.json", json.dumps(wrapped)), "faq", CFG)
    assert len(docs) == 2 and docs[1].text == "Q: Is smoking allowed?\nA: No."
    lines = [json.dumps({"instruction": "How do I pay rent?", "output": "Online."}), "{not json",
             "", json.dumps({"instruction": "Who fixes the heating?", "output": "The landlord."})]
    docs = load_file(write(tmp_path / "c.jsonl", "\n".join(lines)), "faq", CFG)
    assert [d.metadata["row"] for d in docs] == [1, 4]  # JSONL rows are line numbers
    assert "invalid JSON" in skip_reason(write(tmp_path / "d.json", "[{\"q\": 1,"), "faq")


def test_faq_aliases_come_from_config(tmp_path):
    f = write(tmp_path / "faqs.csv", "pregunta,respuesta\n¿Hay parking?,Sí.\n")
    assert "no question and answer column" in skip_reason(f, "faq")
    cfg = LoaderConfig(faq_question_fields=["pregunta"], faq_answer_fields=["respuesta"])
    assert load_file(f, "faq", cfg)[0].text == "Q: ¿Hay parking?\nA: Sí."


# ---------------------------------------------------------------- FAQ Markdown / HTML
def test_markdown_faq_headings(tmp_path):
    md = ("# Resident FAQ\n\nIntro text.\n\n## Parking\n\n### Where do I park?\n\nIn the rear lot.\nSpot 4.\n\n"
          "### Can guests park overnight?\n\nOnly with a permit.\n\n```\n# not a heading?\n```\n\n"
          "## Rent\n\n### How do I pay rent?\n\n#### Online\nUse the portal.\n\n### Empty question?\n")
    f = write(tmp_path / "faqs" / "faq.md", md)
    assert detect_doc_type(f) == "faq"
    docs = load_file(f, "faq", CFG)
    assert [d.metadata["question"] for d in docs] == ["Where do I park?", "Can guests park overnight?",
                                                      "How do I pay rent?"]
    assert docs[0].metadata["answer"] == "In the rear lot.\nSpot 4."
    assert "# not a heading?" in docs[1].metadata["answer"]
    assert "Use the portal." in docs[2].metadata["answer"]
    assert docs[0].metadata["section"] == "Parking" and docs[2].metadata["section"] == "Rent"
    assert [d.metadata["row"] for d in docs] == [1, 2, 3]


def test_markdown_faq_without_question_marks_uses_every_heading(tmp_path):
    f = write(tmp_path / "faqs" / "faq.md", "## Parking\nRear lot.\n\n## Laundry\nBasement, 7am-10pm.\n")
    docs = load_file(f, "faq", CFG)
    assert [(d.metadata["question"], d.metadata["answer"]) for d in docs] == [
        ("Parking", "Rear lot."), ("Laundry", "Basement, 7am-10pm.")]
    assert "no FAQ pairs" in skip_reason(write(tmp_path / "faqs" / "b.md", "Just text, no headings.\n"), "faq")


def test_html_faq_headings(tmp_path):
    html = ("<html><head><title>FAQ</title><script>var x = 'Is this a question?';</script></head><body>"
            "<nav>Home | About</nav><h2>Is there a gym?</h2><p>Yes, on the <b>2nd</b> floor.</p>"
            "<h2>Are pets allowed?</h2><ul><li>Cats</li><li>Small dogs</li></ul></body></html>")
    docs = load_file(write(tmp_path / "faqs" / "faq.html", html), "faq", CFG)
    assert [d.metadata["question"] for d in docs] == ["Is there a gym?", "Are pets allowed?"]
    assert docs[0].metadata["answer"] == "Yes, on the 2nd floor."
    assert "Cats" in docs[1].metadata["answer"] and "Small dogs" in docs[1].metadata["answer"]


# ---------------------------------------------------------------- text
def test_markdown_and_txt_documents(tmp_path):
    md = "Intro line\n\n# Welcome to Oak Street\n\nWe offer **two** pools.\n"
    [d] = load_file(write(tmp_path / "marketing" / "oak.md", md), "marketing", CFG)
    assert (d.doc_type, d.source, d.metadata["title"]) == ("marketing", "oak.md", "Welcome to Oak Street")
    assert "**two** pools" in d.text
    [t] = load_file(write(tmp_path / "notes.txt", "Line   one\r\n\r\n\r\n\r\nLine two\n"), "document", CFG)
    assert t.text == "Line one\n\nLine two" and "title" not in t.metadata


def test_html_document_drops_scripts_and_keeps_title(tmp_path):
    html = ("<!doctype html><html><head><meta charset='windows-1252'><title>Oak Street Living</title>"
            "<style>p{color:red}</style></head><body><nav>Menu Login</nav><h1>Amenities</h1>"
            "<p>Pool and gym.<br>Caf\xe9 downstairs.</p><script>alert('x')</script></body></html>")
    f = tmp_path / "a.html"
    f.write_bytes(html.encode("cp1252"))
    [d] = load_file(f, "document", CFG)
    assert d.metadata["title"] == "Oak Street Living"
    assert "# Amenities" in d.text and "Café downstairs." in d.text and "Pool and gym.\n" in d.text
    for gone in ("alert", "color:red", "Menu Login"):
        assert gone not in d.text
    assert "empty file" in skip_reason(write(tmp_path / "b.html", "<html><script>x()</script></html>"), "document")


# ---------------------------------------------------------------- PDF
def test_clean_pdf_text_joins_hyphenation_and_whitespace():
    assert clean_pdf_text("The deposit is re-\nfundable   within\t30 days.\n\n\n\nNext") == \
        "The deposit is refundable within 30 days.\n\nNext"
    assert clean_pdf_text("Smith-\nJones") == "Smith-\nJones"  # capitalised: a real hyphen


def test_pdf_pages_are_one_based_and_empty_pages_dropped(tmp_path):
    f = make_pdf(tmp_path / "lease.pdf", ["", LEASE_TEXT, "Page three: the landlord pays for water."])
    docs = load_file(f, "lease", CFG)
    assert [d.page for d in docs] == [2, 3]
    assert all(d.doc_type == "lease" and d.source == "lease.pdf" and d.metadata["pages"] == 3 for d in docs)
    assert "sixty days written notice" in " ".join(docs[0].text.split())
    strict = LoaderConfig(pdf_min_chars_per_page=100)
    assert [d.page for d in load_file(f, "document", strict)] == [2]


def test_pdf_without_text_is_skipped(tmp_path):
    assert "no extractable text" in skip_reason(make_pdf(tmp_path / "scan.pdf", ["", ""]), "lease")


def test_encrypted_pdfs(tmp_path):
    plain = make_pdf(tmp_path / "plain.pdf", [LEASE_TEXT])
    docs = load_file(encrypt_pdf(plain, tmp_path / "open.pdf", ""), "lease", CFG)
    assert "security deposit" in docs[0].text
    reason = skip_reason(encrypt_pdf(plain, tmp_path / "locked.pdf", "tenant-pw"), "lease")
    assert reason.startswith("encrypted: needs a password")


@pytest.mark.parametrize("data", [b"this is not a PDF at all", b"%PDF-1.7\n1 0 obj << /Type /Catalog", None])
def test_corrupt_pdf_is_skipped(tmp_path, data):
    if data is None:  # a real PDF cut short
        data = make_pdf(tmp_path / "full.pdf", [LEASE_TEXT]).read_bytes()[:400]
    f = tmp_path / "bad.pdf"
    f.write_bytes(data)
    assert skip_reason(f, "lease").startswith("corrupt or not a PDF: ")


def test_xfa_notice_text():
    notice = ("Please wait... If this message is not eventually replaced by the proper contents of the document, "
              "your PDF viewer may not be able to display this type of document.")
    assert is_xfa_notice(notice)
    assert not is_xfa_notice(LEASE_TEXT)


# ---------------------------------------------------------------- listings
def test_listing_rows_sources_and_text(tmp_path):
    rows = [["ID", "name", "price", "bedrooms", "summary", "description", "house_rules", "notes", "city", "state"],
            ["a1", "Sunny loft", "$1,200", "2", "Bright loft near the park.",
             "Bright loft near the park. Hardwood floors throughout.", "No smoking.\nQuiet after 10pm.", "", "Columbus",
             "OH"],
            ["a2", "Garden flat", "null", "1", "", "", "", "", "Dayton", "OH"],
            ["", "No id flat", "$900", "1", "", "", "", "", "", ""],
            ["a1", "Duplicate id", "$700", "1", "", "", "", "", "", ""]]
    f = tmp_path / "units.csv"
    with open(f, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    docs = load_file(f, "listing", CFG)
    assert [d.source for d in docs] == ["units.csv#a1", "units.csv#a2", "units.csv#row3", "units.csv#a1-2"]
    d = docs[0]
    assert d.doc_type == "listing" and d.page is None
    assert d.text.splitlines()[0] == "Sunny loft"
    assert "Price: $1,200" in d.text and "Bedrooms: 2" in d.text and "Location: Columbus, OH" in d.text
    assert "House rules: No smoking. Quiet after 10pm." in d.text
    assert d.text.count("Bright loft near the park.") == 1  # description minus the summary it repeats
    assert "Hardwood floors throughout." in d.text
    assert d.metadata["ID"] == "a1" and d.metadata["row"] == 1 and "notes" not in d.metadata
    assert all(isinstance(v, str) for k, v in d.metadata.items() if k not in ("row", "fields"))
    assert "Price" not in docs[1].text and "price" not in docs[1].metadata  # "null" is empty


def test_listing_caps_long_text(tmp_path):
    long = "word " * 2000
    rows = [["id", "title", "body", "house_rules", "notes", "transit"], ["9", "Big", long, long + "x", long + "y",
                                                                          long + "z"]]
    f = tmp_path / "l.csv"
    with open(f, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    [d] = load_file(f, "listing", CFG)
    assert len(d.text) <= 2000 and d.text.startswith("Big\n")
    assert len(d.metadata["body"]) == len(long.strip())  # metadata keeps the full column


def test_listing_json_malformed_and_empty(tmp_path):
    docs = load_file(write(tmp_path / "l.json", json.dumps({"listings": [{"listing_id": 5, "rent": 950}, 3]})),
                     "listing", CFG, warnings=[])
    assert [d.source for d in docs] == ["l.json#5"] and "Price: 950" in docs[0].text
    f = write(tmp_path / "m.csv", "id,price\n1,$5\n2,$6,extra\n3,$7\n")
    w: list = []
    assert [d.source for d in load_file(f, "listing", CFG, warnings=w)] == ["m.csv#1", "m.csv#3"]
    assert [x.row for x in w] == [2]
    assert "no data rows" in skip_reason(write(tmp_path / "h.csv", "id,price\n"), "listing")
    latin = write(tmp_path / "c.csv", "id;name;city\n7;Château flat;Montréal\n", encoding="cp1252")
    [d] = load_file(latin, "listing", CFG)
    assert d.source == "c.csv#7" and d.text.startswith("Château flat\n") and "Montréal" in d.text


# ---------------------------------------------------------------- the real corpus
def test_corpus_leases(corpus):
    for f in sorted((corpus / "leases").glob("*.pdf")):
        assert detect_doc_type(f) == "lease"
        docs = load_file(f, "lease", CFG)
        pages = [d.page for d in docs]
        assert pages == sorted(set(pages)) and pages[0] >= 1 and pages[-1] <= docs[0].metadata["pages"]
        assert all(d.source == f.name and d.doc_type == "lease" and d.text.strip() for d in docs)
    barbados = load_file(corpus / "leases" / "barbados_embassy_residence_lease_2002.pdf", "lease", CFG)
    assert len(barbados) == 8 and "LEASE AGREEMENT" in barbados[0].text  # noisy OCR layer kept


def test_corpus_bad_pdfs_are_skipped_with_reasons(corpus):
    bad = corpus / "bad_pdfs"
    assert "no extractable text" in skip_reason(bad / "scanned_renewal_lease_no_text.pdf", "lease")
    assert "XFA" in skip_reason(bad / "xfa_form_no_text.pdf", "lease")


def test_corpus_listings(corpus):
    for name in ("insideairbnb_columbus_oh_2018-07_listings.csv", "uci_apartments_for_rent_10k.csv"):
        f = corpus / "listings" / name
        with open(f, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            ids = [r["id"] for r in reader]
        docs = load_file(f, detect_doc_type(f), CFG)
        assert len(docs) == len(ids)
        assert [d.source for d in docs] == [f"{name}#{i}" for i in ids]
        assert all(d.doc_type == "listing" and 0 < len(d.text) <= 2000 for d in docs)
    assert len(ids) == 10000
    assert "Price: $790" in docs[0].text and "Location: Washington, DC" in docs[0].text


def test_corpus_columbus_has_1013_listings(corpus):
    f = corpus / "listings" / "insideairbnb_columbus_oh_2018-07_listings.csv"
    docs = load_file(f, "listing", CFG)
    assert len(docs) == 1013 and len({d.source for d in docs}) == 1013
    first = docs[0]
    assert first.source == f"{f.name}#{first.metadata['id']}"
    assert first.text.splitlines()[0] == first.metadata["name"]
    assert f"Security deposit: {first.metadata['security_deposit']}" in first.text
