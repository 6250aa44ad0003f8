"""The same contract test runs against FAISS and the exact NumPy index; FAISS must agree with
brute force on random data (faiss's own tests compare with brute force too)."""

from __future__ import annotations

import numpy as np
import pytest

from ragbot.kb.embedders import normalize
from ragbot.errors import InputError
from ragbot.kb.index import FaissIndex, NumpyIndex, faiss_gpu_count

DIM = 32


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    return normalize(rng.standard_normal((n, DIM))), rng.permutation(10 * n)[:n].astype(np.int64)


@pytest.fixture(params=["faiss-flat", "numpy"])
def index(request):
    return FaissIndex(DIM, kind="flat", use_gpu=False) if request.param == "faiss-flat" else NumpyIndex(DIM)


def test_contract_add_search_remove(index):
    vecs, ids = _data(200)
    index.add(vecs, ids)
    assert index.ntotal == 200
    scores, out = index.search(vecs[:5], 3)
    assert scores.shape == (5, 3) and scores.dtype == np.float32 and out.dtype == np.int64
    assert (out[:, 0] == ids[:5]).all()  # a vector is its own nearest neighbour
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    assert index.remove(ids[:5]) == 5 and index.ntotal == 195
    _, out = index.search(vecs[:5], 3)
    assert not np.isin(out, ids[:5]).any()


def test_contract_fewer_than_k_and_errors(index):
    vecs, ids = _data(3)
    index.add(vecs, ids)
    scores, out = index.search(vecs[:1], 5)
    assert (out[0, 3:] == -1).all() and np.isneginf(scores[0, 3:]).all()
    with pytest.raises(InputError):
        index.search(np.zeros((1, DIM + 1), np.float32), 2)
    with pytest.raises(InputError):
        index.add(vecs, ids)  # duplicate ids
    with pytest.raises(InputError):
        index.search(vecs[:1], 0)


@pytest.mark.parametrize("seed", range(5))
def test_faiss_flat_agrees_with_exact_numpy(seed):
    vecs, ids = _data(1000, seed)
    queries, _ = _data(20, seed + 100)
    f, n = FaissIndex(DIM, use_gpu=False), NumpyIndex(DIM)
    f.add(vecs, ids)
    n.add(vecs, ids)
    fs, fi = f.search(queries, 10)
    ns, ni = n.search(queries, 10)
    np.testing.assert_allclose(fs, ns, atol=1e-5)
    # ids agree except where scores tie within float error
    assert (fi == ni).mean() > 0.99


@pytest.mark.parametrize("seed", range(3))
def test_allowed_ids_filter_before_ranking(seed):
    vecs, ids = _data(2000, seed)
    rng = np.random.default_rng(seed)
    allowed = rng.choice(ids, size=37, replace=False)
    f, n = FaissIndex(DIM, use_gpu=False), NumpyIndex(DIM)
    f.add(vecs, ids)
    n.add(vecs, ids)
    q = vecs[:4]
    fs, fi = f.search(q, 20, allowed_ids=allowed)
    ns, ni = n.search(q, 20, allowed_ids=allowed)
    assert np.isin(fi, allowed).all(), "a filtered search returned an id outside the filter"
    assert (fi >= 0).all(), "k hits must come back when the filter holds >= k vectors"
    np.testing.assert_allclose(fs, ns, atol=1e-5)


def test_hnsw_recall_and_filter():
    vecs, ids = _data(3000, 7)
    queries, _ = _data(50, 8)
    h, n = FaissIndex(DIM, kind="hnsw", use_gpu=False), NumpyIndex(DIM)
    h.add(vecs, ids)
    n.add(vecs, ids)
    _, hi = h.search(queries, 10)
    _, ni = n.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(hi, ni)])
    assert recall > 0.9
    allowed = ids[::100]
    _, fi = h.search(queries[:2], 10, allowed_ids=allowed)
    assert np.isin(fi, allowed).all() and (fi >= 0).all()
    assert h.remove(ids[:10]) == 10 and h.ntotal == 2990


def test_save_load_roundtrip(tmp_path):
    vecs, ids = _data(100)
    f = FaissIndex(DIM, use_gpu=False)
    f.add(vecs, ids)
    f.save(tmp_path / "x.faiss")
    g = FaissIndex.load(tmp_path / "x.faiss", use_gpu=False)
    np.testing.assert_array_equal(f.search(vecs[:3], 4)[1], g.search(vecs[:3], 4)[1])


@pytest.mark.gpu
@pytest.mark.skipif(faiss_gpu_count() == 0, reason="faiss reports no GPU (faiss-cpu build or no CUDA device)")
def test_gpu_search_matches_cpu():
    vecs, ids = _data(5000, 3)
    cpu, gpu = FaissIndex(DIM, use_gpu=False), FaissIndex(DIM, use_gpu=True)
    assert gpu.on_gpu
    cpu.add(vecs, ids)
    gpu.add(vecs, ids)
    cs, ci = cpu.search(vecs[:50], 10)
    gs, gi = gpu.search(vecs[:50], 10)
    np.testing.assert_allclose(cs, gs, atol=1e-4)
    assert (ci == gi).mean() > 0.99
    allowed = ids[::50]
    _, fi = gpu.search(vecs[:5], 10, allowed_ids=allowed)
    assert np.isin(fi, allowed).all()


def test_use_gpu_true_without_gpu_is_a_clear_error():
    if faiss_gpu_count() > 0:
        pytest.skip("a GPU is present")
    from ragbot.errors import ConfigError

    with pytest.raises(ConfigError, match="no GPU"):
        FaissIndex(DIM, use_gpu=True)
