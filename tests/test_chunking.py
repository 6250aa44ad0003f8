"""Chunking, chunk ids, chunk de-duplication and near-duplicate FAQ detection (no models)."""

from __future__ import annotations

import hashlib
import json
import random
import time

import pytest
from rapidfuzz import fuzz, utils

from ragbot.config import ChunkingConfig, LoaderConfig
from ragbot.errors import ConfigError
from ragbot.kb.ingest import chunk_documents, find_near_duplicate_faqs, load_file
from ragbot.types import Document

CFG = ChunkingConfig(chunk_size=200, chunk_overlap=40)


def doc(text, source="a.txt", doc_type="document", page=None, **meta):
    return Document(text, source, doc_type, f"/kb/{source}", page, meta)


def faq(question, answer="Yes.", source="faqs.csv", row=1):
    return doc(f"Q: {question}\nA: {answer}", source, "faq", None, question=question, answer=answer, row=row)


def long_text(n_sentences=40, seed=0):
    rng = random.Random(seed)
    words = "tenant landlord rent deposit notice repair heating parking lease term month pets".split()
    paras = []
    for p in range(n_sentences // 5):
        paras.append(" ".join(" ".join(rng.choice(words) for _ in range(rng.randint(6, 14))) + "." for _ in range(5)))
    return "\n\n".join(paras)


def test_long_document_is_split_with_metadata_kept():
    text = long_text()
    d = doc(text, "lease.pdf", "lease", page=3, title="Lease")
    chunks = chunk_documents([d], CFG, {"property": "oak"})
    assert len(chunks) >= len(text) // CFG.chunk_size
    assert all(len(c.text) <= CFG.chunk_size for c in chunks)
    assert [c.metadata["chunk_index"] for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert (c.source, c.doc_type, c.page, c.metadata["title"]) == ("lease.pdf", "lease", 3, "Lease")
        assert dict(c.scope) == {"property": "oak"}
        assert c.text in text
    words = text.split()
    covered = set(" ".join(c.text for c in chunks).split())
    assert set(words) <= covered
    assert "chunk_index" not in d.metadata  # the document is not mutated


def test_pdf_text_is_cut_between_sentences_not_at_line_wraps():
    """PDF pages keep their line wraps and often have no blank lines: a cut at a wrap left
    "Payments are / to be made quarterly ..." whole in neither chunk."""
    sentences = [f"Clause {i} says the tenant pays item {i} by the {i + 1}th day of the\nmonth, in advance, to the landlord."
                 for i in range(12)]
    text = " ".join(sentences)
    chunks = chunk_documents([doc(text, "lease.pdf", "lease", page=1)], CFG, {})
    assert len(chunks) > 3
    for c in chunks:
        assert c.text.startswith("Clause ") and c.text.endswith("landlord."), c.text


def test_short_document_is_one_chunk():
    [c] = chunk_documents([doc("  Rent is due on the 1st.  ")], CFG, {})
    assert c.text == "Rent is due on the 1st." and c.metadata["chunk_index"] == 0


@pytest.mark.parametrize("doc_type", ["faq", "listing"])
def test_faq_and_listing_are_never_split(doc_type):
    text = long_text(seed=1)
    assert len(text) > 3 * CFG.chunk_size
    [c] = chunk_documents([doc(text, "x.csv#1", doc_type)], CFG, {})
    assert c.text == text.strip() and c.doc_type == doc_type


def test_chunk_id_is_sha256_of_text_and_canonical_scope():
    [a] = chunk_documents([doc("Pets: cats only.")], CFG, {"property": "oak", "unit": "4"})
    [b] = chunk_documents([doc("Pets: cats only.")], CFG, {"unit": "4", "property": "oak"})
    [c] = chunk_documents([doc("Pets: cats only.")], CFG, {"property": "pine", "unit": "4"})
    [d] = chunk_documents([doc("Pets: cats only.")], CFG, {})
    assert a.chunk_id == b.chunk_id
    assert len({a.chunk_id, c.chunk_id, d.chunk_id}) == 3
    scope_json = json.dumps({"property": "oak", "unit": "4"}, sort_keys=True, separators=(",", ":"))
    assert a.chunk_id == hashlib.sha256(("Pets: cats only.\x00" + scope_json).encode()).hexdigest()


def test_identical_chunks_are_emitted_once_first_wins():
    docs = [doc("Office hours are 9 to 5.", "a.md"), doc("Quiet hours start at 10pm.", "b.md"),
            doc("Office hours are 9 to 5.", "c.md", "marketing")]
    chunks = chunk_documents(docs, CFG, {})
    assert [c.source for c in chunks] == ["a.md", "b.md"]
    assert len({c.chunk_id for c in chunks}) == 2


def test_overlap_not_smaller_than_size_is_a_config_error():
    with pytest.raises(ConfigError, match="chunk_overlap"):
        chunk_documents([doc("x")], ChunkingConfig(chunk_size=100, chunk_overlap=100), {})


def test_real_lease_chunks_fit(corpus):
    docs = load_file(corpus / "leases" / "ontario_residential_tenancy_agreement.pdf", "lease", LoaderConfig())
    cfg = ChunkingConfig()
    chunks = chunk_documents(docs, cfg, {})
    assert len(chunks) > len(docs)
    assert all(0 < len(c.text) <= cfg.chunk_size for c in chunks)
    assert {c.page for c in chunks} == {d.page for d in docs}


# ---------------------------------------------------------------- near-duplicate FAQs
def test_near_duplicate_faqs_found_with_labels():
    docs = [faq("How do I pay my rent?", row=1), faq("Is there a gym?", row=2),
            faq("How can I pay my rent?", source="more.jsonl", row=5), doc("How do I pay my rent?", "x.md"),
            faq("When is the pool open?", row=3)]
    pairs = find_near_duplicate_faqs(docs, 85)
    assert len(pairs) == 1
    a, b, score = pairs[0]
    assert (a, b) == ("faqs.csv row 1", "more.jsonl row 5")
    expected = fuzz.token_set_ratio("How do I pay my rent?", "How can I pay my rent?", processor=utils.default_process)
    assert score == pytest.approx(expected, abs=0.1)
    assert find_near_duplicate_faqs(docs, min(100.0, expected + 1)) == []


def test_same_document_is_not_its_own_duplicate():
    d = faq("Where do I park?")
    assert find_near_duplicate_faqs([d, d], 90) == []
    assert find_near_duplicate_faqs([d], 0) == []
    twin = faq("Where do I park?", row=2)
    assert find_near_duplicate_faqs([d, twin], 90) == [("faqs.csv row 1", "faqs.csv row 2", 100.0)]


def test_near_duplicates_match_brute_force():
    rng = random.Random(3)
    words = "how do i pay rent where park can guests stay overnight pets allowed the gym pool open".split()
    qs = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 7))) + "?" for _ in range(120)]
    docs = [faq(q, row=i + 1) for i, q in enumerate(qs)]
    got = {(a, b) for a, b, _ in find_near_duplicate_faqs(docs, 80)}
    want = {(f"faqs.csv row {i + 1}", f"faqs.csv row {j + 1}")
            for i in range(len(qs)) for j in range(i + 1, len(qs))
            if fuzz.token_set_ratio(qs[i], qs[j], processor=utils.default_process) >= 80}
    assert want and got == want


def test_near_duplicates_fast_for_thousands_of_faqs():
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(3000)]
    docs = [faq(" ".join(rng.choice(vocab) for _ in range(8)) + "?", row=i + 1) for i in range(2000)]
    docs.append(faq(docs[10].metadata["question"].upper(), source="other.csv", row=1))
    t0 = time.perf_counter()
    pairs = find_near_duplicate_faqs(docs, 90)
    elapsed = time.perf_counter() - t0
    assert ("faqs.csv row 11", "other.csv row 1", 100.0) in pairs
    assert elapsed < 30, f"{elapsed:.1f} s for 2000 FAQs"
