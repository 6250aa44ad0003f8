"""Knowledge gaps: the questions the bot could not answer (handed off as out of scope, or the
model said the passages do not answer) or answered badly (rated down), clustered by meaning.

Questions are cleaned for clustering (greetings and sentences holding a PII placeholder such as
"My email is <EMAIL>." are left out), counted per distinct text, embedded with the given
Embedder and clustered with scikit-learn's AgglomerativeClustering (cosine distance, average
linkage, a distance threshold instead of a cluster count). Above `max_points` distinct
questions, the most frequent `max_points` are clustered and the rest join the nearest cluster
centroid within the threshold (agglomerative clustering needs O(n^2) memory). Each cluster's
suggested FAQ question is its most central member (the highest count-weighted mean cosine to
the others).
"""

from __future__ import annotations

from ragbot.text import sentences

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ragbot.errors import InputError, missing_dependency

GAP_RULES = ("out_of_scope", "dont_know", "no_generation", "low_quote_score")
GAP_DOWN_REASONS = (None, "wrong", "incomplete", "outdated", "other")
_GREETING = re.compile(r"^\s*(?:(?:hi|hello|hey|dear \w+|good (?:morning|afternoon|evening)|quick question|"
                       r"thanks|thank you|please|excuse me)(?: there)?\s*[,.!:;-]*\s*)+", re.I)
_PLACEHOLDER = re.compile(r"<(?:EMAIL|PHONE|CARD|SSN|IBAN|ADDRESS|PERSON|REDACTED)>")


@dataclass(frozen=True)
class GapCluster:
    """One knowledge gap.

    size: turns in the cluster (repeats counted); suggested: the FAQ question to write (the most
    central member); examples: up to 5 members, most frequent first; questions: every distinct
    member, most frequent first; rules: turns per cause (a gap rule, or "rated_down").
    """

    size: int
    suggested: str
    examples: tuple[str, ...]
    questions: tuple[str, ...]
    rules: Mapping[str, int] = field(default_factory=dict)


def clean_question(text: str) -> str:
    """The question for clustering: leading greetings and sentences holding a PII placeholder
    removed, whitespace collapsed; the whole text when nothing would be left."""
    parts = sentences(text)
    kept = [s for s in parts if not _PLACEHOLDER.search(s)]
    out = _GREETING.sub("", " ".join(kept)).strip()
    return (out[:1].upper() + out[1:]) if out else " ".join(str(text).split())


def cluster_questions(items: Sequence[tuple[str, str]], embedder, distance_threshold: float = 0.55,
                      min_size: int = 3, max_points: int = 3000, max_clusters: int = 30) -> list[GapCluster]:
    """Cluster (question, cause) pairs by meaning; returns clusters with at least `min_size`
    turns, largest first, at most `max_clusters`.

    distance_threshold: cosine distance (1 - cosine) at which average-linkage merging stops;
    embedder-specific (0.55 suits all-MiniLM-L6-v2). Raises InputError for bad parameters,
    MissingDependencyError without scikit-learn."""
    if not 0 < distance_threshold < 2 or min_size < 1 or max_points < 2:
        raise InputError("need 0 < distance_threshold < 2, min_size >= 1 and max_points >= 2")
    counts: Counter = Counter()
    causes: dict[str, Counter] = {}
    display: dict[str, str] = {}
    for question, cause in items:
        text = clean_question(question)
        key = text.casefold()
        counts[key] += 1
        causes.setdefault(key, Counter())[cause] += 1
        display.setdefault(key, text)
    if not counts:
        return []
    keys = [k for k, _ in counts.most_common()]
    vecs = np.asarray(embedder.embed_documents([display[k] for k in keys]), dtype=np.float32)
    weights = np.array([counts[k] for k in keys], dtype=np.float64)
    labels = _labels(vecs, distance_threshold, max_points)
    clusters = []
    for lab in np.unique(labels[labels >= 0]):
        idx = np.nonzero(labels == lab)[0]
        size = int(weights[idx].sum())
        if size < min_size:
            continue
        sims = vecs[idx] @ vecs[idx].T
        central = int(idx[np.argmax(sims @ weights[idx])])
        members = [keys[i] for i in idx]  # idx ascending = most frequent first
        rules: Counter = Counter()
        for k in members:
            rules.update(causes[k])
        clusters.append(GapCluster(size=size, suggested=display[keys[central]],
                                   examples=tuple(display[k] for k in members[:5]),
                                   questions=tuple(display[k] for k in members), rules=dict(rules.most_common())))
    clusters.sort(key=lambda c: (-c.size, c.suggested))
    return clusters[:max_clusters]


def _labels(vecs: np.ndarray, threshold: float, max_points: int) -> np.ndarray:
    """Cluster label per row (-1: joined no cluster); rows are in descending frequency."""
    try:
        from sklearn.cluster import AgglomerativeClustering
    except ImportError as e:
        raise missing_dependency("sklearn", package="scikit-learn") from e
    n = len(vecs)
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    head = min(n, max_points)
    model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                    distance_threshold=threshold)
    labels = np.full(n, -1, dtype=np.int64)
    labels[:head] = model.fit_predict(vecs[:head])
    if head < n:
        n_lab = labels[:head].max() + 1
        cent = np.zeros((n_lab, vecs.shape[1]), dtype=np.float32)
        np.add.at(cent, labels[:head], vecs[:head])
        cent /= np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12)
        for b in range(head, n, 4096):
            sims = vecs[b:b + 4096] @ cent.T
            best = sims.argmax(axis=1)
            ok = sims[np.arange(len(best)), best] >= 1.0 - threshold
            labels[b:b + 4096] = np.where(ok, best, -1)
    return labels


__all__ = ["GAP_DOWN_REASONS", "GAP_RULES", "GapCluster", "clean_question", "cluster_questions"]
