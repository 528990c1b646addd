"""The dropout masks' generator: its definition, its exact keep rate, and independent masks.

References, none computed by the code under test: the hash written out in numpy from the
formula of ``bayes_reg/nets/masks.py`` (uint64 arithmetic reduced mod 2**32); the threshold
``round(keep * 2**32)`` in exact rational arithmetic (``fractions.Fraction``); counting over a
full period of the 32-bit counter; binomial and normal bounds for keep rates and correlation
coefficients of independent masks; scipy's chi-square test for pairs of nibbles.
"""

import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from bayes_reg.nets.masks import MAX_UNITS, hash_bits, keep_mask, keep_threshold, layer_seeds
from bayes_reg.nets.mlp import Layer, mlp

jax.config.update("jax_enable_x64", True)

# Statistical checks use 5-standard-error bounds: for fixed seeds they are deterministic, and
# a correct generator falls outside with probability < 6e-7 per check.
Z = 5.0
# Chi-square p-values: a fixed-seed false-alarm level of 1e-6 per test.
P_MIN = 1e-6
M32 = 0xFFFFFFFF
U32 = jnp.uint32


# --------------------------------------------------------------------------------------
# the definition, written out independently


def _np_lowbias32(x):
    """Wellons's lowbias32 in numpy uint64, reduced mod 2**32 after each multiply."""
    x = np.asarray(x, np.uint64) & M32
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & M32
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & M32
    return x ^ (x >> np.uint64(16))


def _np_bits(seed, size, offset=0):
    """bits(c) = H(H(c * (s0 | 1) + s1) ^ s0 ^ s1) for c = offset, ..., offset + size - 1."""
    s0, s1 = (np.uint64(int(s)) for s in seed)
    c = (np.arange(size, dtype=np.uint64) + np.uint64(offset)) & M32
    x = _np_lowbias32((c * (s0 | np.uint64(1)) + s1) & M32)
    return _np_lowbias32(x ^ s0 ^ s1).astype(np.uint32)


def _seeds(n, seed=0):
    return np.random.default_rng(seed).integers(0, 2**32, (n, 2), dtype=np.uint32)


@pytest.mark.parametrize(
    ("shape", "offset"), [((7,), 0), ((3, 5), 0), ((2, 3, 4), 11), ((64,), 2**32 - 20)]
)
def test_bits_are_the_documented_hash(shape, offset):
    for seed in _seeds(4):
        ours = np.asarray(hash_bits(jnp.asarray(seed), shape, offset))
        assert ours.shape == shape and ours.dtype == np.uint32
        # Row-major positions, counters wrapping modulo 2**32.
        np.testing.assert_array_equal(ours.ravel(), _np_bits(seed, math.prod(shape), offset))


def test_lowbias32_is_a_bijection_on_a_sample():
    # Every step is invertible: xor-shifts by >= 16 bits undo themselves in one step, the
    # multipliers are odd. The inverse written out in numpy (multipliers' inverses mod 2**32
    # from Python's pow) returns every input.
    x = np.random.default_rng(1).integers(0, 2**32, 100_000, dtype=np.uint64)
    y = _np_lowbias32(x)
    y ^= y >> np.uint64(16)
    y = (y * np.uint64(pow(0x846CA68B, -1, 2**32))) & M32
    y ^= (y >> np.uint64(15)) ^ (y >> np.uint64(30))
    y = (y * np.uint64(pow(0x7FEB352D, -1, 2**32))) & M32
    y ^= y >> np.uint64(16)
    np.testing.assert_array_equal(y, x)


# --------------------------------------------------------------------------------------
# the keep rate


KEEPS = [0.95, 0.5, 0.1, 0.9, 1 / 3, 1.0, 1 - 2**-24, 0.0, 1e-12]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("keep", KEEPS)
def test_threshold_is_keep_times_two_to_the_32_rounded(keep, dtype):
    keep = dtype(keep)  # the network's dtype decides the keep value first
    exact = round(Fraction(float(keep)) * 2**32)  # exact rational, ties to even
    t, everything = jax.jit(keep_threshold)(jnp.asarray(keep))
    assert bool(everything) == (exact == 2**32)
    assert int(t) == (0 if exact == 2**32 else exact)
    # Within half a step of the 32-bit grid of the keep value.
    assert abs(Fraction(exact, 2**32) - Fraction(float(keep))) <= Fraction(1, 2**33)


def test_mask_is_bits_below_the_threshold():
    seed = jnp.asarray(_seeds(1, 2)[0])
    bits = _np_bits(np.asarray(seed), 50_000).reshape(500, 100)
    for keep in (0.95, 0.5, 0.1):
        t = round(Fraction(float(np.float32(keep))) * 2**32)
        mask = keep_mask(seed, (500, 100), jnp.float32(keep))
        np.testing.assert_array_equal(np.asarray(mask), bits < t)
    assert np.asarray(keep_mask(seed, (500, 100), jnp.float32(1.0))).all()
    assert not np.asarray(keep_mask(seed, (500, 100), jnp.float32(0.0))).any()


@jax.jit
def _count_below(seed, thresholds):
    """How many of the 2**32 counters of ``seed`` give bits below each threshold."""
    chunk = 2**24

    def body(i, counts):
        bits = hash_bits(seed, (chunk,), i.astype(U32) << 24)
        return counts + jnp.stack([jnp.sum(bits < t, dtype=U32) for t in thresholds])

    return jax.lax.fori_loop(0, 2**32 // chunk, body, jnp.zeros(len(thresholds), U32))


def test_keep_rate_is_exact_over_a_full_period():
    # For a fixed seed the 2**32 counters give every 32-bit word once (a permutation), so
    # exactly t of them fall below t: the keep probability is t / 2**32, not approximately.
    # Four billion hashes per threshold (2-10 s on 2 shared CPU cores): two thresholds, the
    # benchmark's p = 0.05 (float32 keep) and p = 0.5.
    ts = [round(Fraction(float(np.float32(1 - p))) * 2**32) for p in (0.05, 0.5)]
    counts = _count_below(jnp.asarray(_seeds(1, 3)[0]), [U32(t) for t in ts])
    assert [int(c) for c in np.asarray(counts)] == ts


@pytest.mark.parametrize("p", [0.05, 0.5, 0.9])
def test_keep_rate_within_a_binomial_interval(p):
    # 2**22 units of each of 8 passes (keys from jax.random.split): the kept fraction is
    # Binomial(m, q) / m with q = round((1 - p) * 2**32) / 2**32.
    q = round(Fraction(float(np.float32(1 - p))) * 2**32) / 2**32
    keys = jax.random.split(jax.random.key(20261204), 8)
    masks = jax.vmap(lambda k: keep_mask(layer_seeds(k, 1)[0], (4096, 1024), 1 - p))(keys)
    kept = np.asarray(masks)
    m = kept.size
    assert abs(kept.mean() - q) < Z * math.sqrt(q * (1 - q) / m)
    # Each pass on its own too (m / 8 units each).
    for one in kept:
        assert abs(one.mean() - q) < Z * math.sqrt(q * (1 - q) / one.size)


def test_every_bit_is_fair():
    bits = np.asarray(hash_bits(jnp.asarray(_seeds(1, 4)[0]), (2**22,)))
    ones = ((bits[:, None] >> np.arange(32, dtype=np.uint32)) & 1).mean(0)
    assert np.all(np.abs(ones - 0.5) < Z * math.sqrt(0.25 / bits.size))


# --------------------------------------------------------------------------------------
# independence


def _corr_bound(a, b):
    """|Pearson correlation| of two mask arrays, and the Z-standard-error bound under
    independence (sqrt(m) r is asymptotically standard normal)."""
    a, b = np.ravel(a).astype(float), np.ravel(b).astype(float)
    return abs(np.corrcoef(a, b)[0, 1]), Z / math.sqrt(a.size)


def _assert_uncorrelated(a, b):
    r, bound = _corr_bound(a, b)
    assert r < bound, (r, bound)


@pytest.mark.parametrize("p", [0.05, 0.5])
def test_masks_are_uncorrelated_across_units_rows_and_counters(p):
    seed = jnp.asarray(_seeds(1, 5)[0])
    mask = np.asarray(keep_mask(seed, (2048, 1024), 1 - p))
    _assert_uncorrelated(mask[:, :-1], mask[:, 1:])  # neighbouring units
    _assert_uncorrelated(mask[:-1], mask[1:])  # neighbouring rows
    flat = mask.ravel()
    for lag in (1, 2, 3, 1024, 1025, 4096):  # neighbouring counters, across row ends too
        _assert_uncorrelated(flat[:-lag], flat[lag:])


@pytest.mark.parametrize("p", [0.05, 0.5])
def test_masks_are_uncorrelated_across_passes_and_layers(p):
    shape = (1024, 1024)
    keys = jax.random.split(jax.random.key(99), 4)
    seeds = jax.vmap(lambda k: layer_seeds(k, 3))(keys)  # (passes, layers, 2)
    masks = np.asarray(
        jax.vmap(jax.vmap(lambda s: keep_mask(s, shape, 1 - p)))(seeds)
    )  # (passes, layers, rows, units)
    pairs = [((0, 0), (1, 0)), ((0, 0), (0, 1)), ((0, 1), (0, 2)), ((2, 1), (3, 2))]
    for a, b in pairs:
        _assert_uncorrelated(masks[a], masks[b])


def test_masks_of_structured_keys_are_uncorrelated():
    # Keys made from consecutive integers have data (0, 7) and (0, 8); their masks must be as
    # unrelated as those of split keys, and so must those of rbg keys, whose data repeat.
    shape = (2048, 512)
    masks = [
        np.asarray(keep_mask(layer_seeds(k, 1)[0], shape, 0.5))
        for k in (
            jax.random.key(7),
            jax.random.key(8),
            jax.random.key(7, impl="rbg"),
            jax.random.key(8, impl="unsafe_rbg"),
        )
    ]
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            _assert_uncorrelated(masks[i], masks[j])


def test_seeds_with_shifted_first_stages_still_give_unrelated_bits():
    # The worst related pair of seeds: same multiplier, s1 apart by d * (s0 | 1), so that the
    # first stage of seed b at counter c equals that of seed a at c + d. The second key
    # injection (s0 ^ s1 differs) must leave the two streams unrelated.
    s0, s1, d = 0x9E3779B1, 12345, 1000
    a = np.array([s0, s1], np.uint32)
    b = np.array([s0, (s1 + d * (s0 | 1)) % 2**32], np.uint32)
    n = 2**22
    bits_a = np.asarray(hash_bits(jnp.asarray(a), (n + d,)))[d:]
    bits_b = np.asarray(hash_bits(jnp.asarray(b), (n,)))
    x_a = _np_lowbias32((np.arange(d, d + 4, dtype=np.uint64) * (s0 | 1) + s1) & M32)
    x_b = _np_lowbias32((np.arange(4, dtype=np.uint64) * (s0 | 1) + int(b[1])) & M32)
    np.testing.assert_array_equal(x_a, x_b)  # the first stages do coincide
    _assert_uncorrelated(bits_a < 2**31, bits_b < 2**31)
    _assert_uncorrelated(bits_a < 0.95 * 2**32, bits_b < 0.95 * 2**32)
    assert np.mean(bits_a == bits_b) < 1e-5


def _nibble_pairs_pvalue(a, b):
    """Chi-square test that the top 4 bits of ``a`` and of ``b`` are independent and
    uniform: 256 cells, equal expected counts."""
    cells = (np.ravel(a) >> 28).astype(np.int64) * 16 + (np.ravel(b) >> 28).astype(np.int64)
    counts = np.bincount(cells, minlength=256)
    return stats.chisquare(counts).pvalue


def test_pairs_of_nibbles_are_uniform():
    n = 2**21
    seeds = _seeds(3, 6)
    bits = np.asarray(hash_bits(jnp.asarray(seeds[0]), (n,)))
    for lag in (1, 2, 512):  # neighbouring counters
        assert _nibble_pairs_pvalue(bits[:-lag], bits[lag:]) > P_MIN
    # Same positions, two seeds (passes or layers).
    other = np.asarray(hash_bits(jnp.asarray(seeds[1]), (n,)))
    assert _nibble_pairs_pvalue(bits, other) > P_MIN
    # Low nibbles too: the threshold only reads the top bits, but a weak mixer shows low.
    low = np.asarray(hash_bits(jnp.asarray(seeds[2]), (n,))) << 28
    assert _nibble_pairs_pvalue(low[:-1], low[1:]) > P_MIN


def test_pairs_of_masks_pass_a_contingency_test():
    # Two masks at p = 0.05 (neighbouring units, and two split keys): a 2 x 2 table of
    # kept/dropped pairs against independence (chi-square, 1 degree of freedom).
    keys = jax.random.split(jax.random.key(5), 2)
    a, b = (np.asarray(keep_mask(layer_seeds(k, 1)[0], (4096, 512), 0.95)) for k in keys)
    for x, y in ((a[:, :-1], a[:, 1:]), (a, b)):
        table = np.histogram2d(np.ravel(x), np.ravel(y), bins=2)[0]
        assert stats.chi2_contingency(table, correction=False).pvalue > P_MIN


# --------------------------------------------------------------------------------------
# determinism and transformations


def test_same_key_same_masks_other_keys_other_masks():
    shape = (300, 40)
    a = keep_mask(layer_seeds(jax.random.key(3), 2)[1], shape, 0.5)
    b = keep_mask(layer_seeds(jax.random.key(3), 2)[1], shape, 0.5)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for other in (jax.random.key(4), jax.random.fold_in(jax.random.key(3), 0)):
        c = keep_mask(layer_seeds(other, 2)[1], shape, 0.5)
        assert not np.array_equal(np.asarray(a), np.asarray(c))
    first = keep_mask(layer_seeds(jax.random.key(3), 2)[0], shape, 0.5)
    assert not np.array_equal(np.asarray(a), np.asarray(first))  # layers differ
    # The layers' seeds of one key do not depend on how many layers were asked for.
    np.testing.assert_array_equal(
        np.asarray(layer_seeds(jax.random.key(3), 2)),
        np.asarray(layer_seeds(jax.random.key(3), 5))[:2],
    )


def test_jit_vmap_and_scan_give_the_masks_of_a_python_loop():
    keys = jax.random.split(jax.random.key(12), 6)
    rates = jnp.asarray([0.05, 0.5, 0.9, 0.0, 0.3, 0.6], jnp.float32)

    def one(k, p):
        return keep_mask(layer_seeds(k, 2)[1], (20, 30), 1 - p)

    loop = np.stack([np.asarray(one(k, p)) for k, p in zip(keys, rates, strict=True)])
    np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(one))(keys, rates)), loop)
    scanned = jax.lax.scan(lambda c, kp: (c, one(*kp)), 0, (keys, rates))[1]
    np.testing.assert_array_equal(np.asarray(scanned), loop)
    mapped = jax.lax.map(lambda kp: one(*kp), (keys, rates), batch_size=4)
    np.testing.assert_array_equal(np.asarray(mapped), loop)


def test_mlp_drops_exactly_the_units_of_its_masks():
    # The forward pass's wiring: with identity kernels the zeros of the output are the
    # dropped units of the input layer's mask, seeded by the first of the key's layer seeds.
    n, d, p = 256, 32, 0.3
    x = np.linspace(0.5, 2.0, n * d).reshape(n, d)
    net = (Layer(jnp.eye(d), jnp.zeros(d)),)
    key = jax.random.key(41)
    out = np.asarray(mlp(net, x, dropout=p, key=key, inference=False))
    seed = np.asarray(layer_seeds(key, 1)[0])
    t = round(Fraction(1 - p) * 2**32)  # float64 network: keep = 1 - p in float64
    kept = (_np_bits(seed, n * d) < t).reshape(n, d)
    np.testing.assert_array_equal(out != 0, kept)


def test_a_mask_larger_than_the_counter_is_refused():
    with pytest.raises(ValueError, match=r"at most 2\*\*32 units, got shape \(65536, 65537\)"):
        hash_bits(jnp.zeros(2, U32), (2**16, 2**16 + 1))
    assert MAX_UNITS == 2**32


@pytest.mark.gpu
def test_gpu_bits_and_masks_are_the_cpu_ones():
    # Integer arithmetic only: the same bits on every backend, bit for bit.
    seed = jnp.asarray(_seeds(1, 8)[0])
    gpu = np.asarray(jax.jit(lambda s: hash_bits(s, (1000, 512)))(seed))
    with jax.default_device(jax.devices("cpu")[0]):
        cpu = np.asarray(jax.jit(lambda s: hash_bits(s, (1000, 512)))(seed))
    np.testing.assert_array_equal(gpu, cpu)
    np.testing.assert_array_equal(gpu.ravel(), _np_bits(np.asarray(seed), 512_000))
