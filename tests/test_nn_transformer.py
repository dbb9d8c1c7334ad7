"""Attention, the causal LM, its KV cache and sampling against independent references."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxphys.core import TrainState, fit
from jaxphys.data import addition_problems, decode_addition
from jaxphys.nn import (CausalLM, LearnedPositionalEncoding, MultiHeadAttention,
                        SinusoidalPositionalEncoding, causal_mask, generate, padding_mask,
                        sample_logits, scaled_dot_product_attention, sinusoidal_positions)
from jaxphys.nn._transformer import _generate

VOCAB = 11


def _np_softmax(a):
    a = a - a.max(axis=-1, keepdims=True)
    e = np.exp(a)
    return e / e.sum(axis=-1, keepdims=True)


def _np_attention(q, k, v, mask=None):
    logits = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        logits = np.where(mask, logits, -np.inf)
    return _np_softmax(logits) @ v


@pytest.fixture(scope="module")
def lm_and_params():
    lm = CausalLM(vocab_size=VOCAB, max_len=24, d_model=16, num_heads=2, num_layers=2)
    params = jax.jit(lm.init)(jax.random.key(0), jnp.zeros((1, 24), jnp.int32))
    return lm, params


def test_attention_matches_numpy_reference():
    rng = np.random.default_rng(1)
    q, k = rng.normal(size=(2, 3, 5, 8)), rng.normal(size=(2, 3, 6, 8))
    v = rng.normal(size=(2, 3, 6, 4))
    q, k, v = (jnp.asarray(a, jnp.float32) for a in (q, k, v))
    out = scaled_dot_product_attention(q, k, v)
    np.testing.assert_allclose(out, _np_attention(*map(np.asarray, (q, k, v))), atol=1e-5)
    mask = rng.random((2, 1, 5, 6)) < 0.6
    mask[..., 0] = True                                     # every query sees a key
    out = scaled_dot_product_attention(q, k, v, jnp.asarray(mask))
    ref = _np_attention(*map(np.asarray, (q, k, v)), mask)
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_multi_head_attention_matches_numpy_reference():
    x = jnp.asarray(np.random.default_rng(2).normal(size=(2, 5, 8)), jnp.float32)
    mha = MultiHeadAttention(num_heads=2)
    params = jax.jit(mha.init)(jax.random.key(3), x)
    out = mha.apply(params, x, causal_mask(5))
    p = jax.tree.map(np.asarray, params["params"])
    xn = np.asarray(x)
    qkv = np.einsum("btd,dshe->sbhte", xn, p["qkv"]["kernel"]) \
        + p["qkv"]["bias"].transpose(0, 1, 2)[:, None, :, None, :]
    heads = _np_attention(qkv[0], qkv[1], qkv[2], np.tril(np.ones((5, 5), bool)))
    ref = np.einsum("bhte,hed->btd", heads, p["out"]["kernel"]) + p["out"]["bias"]
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_padding_mask_ignores_padded_keys():
    rng = np.random.default_rng(4)
    q = jnp.asarray(rng.normal(size=(2, 1, 4, 8)), jnp.float32)
    kv_a = jnp.asarray(rng.normal(size=(2, 1, 6, 8)), jnp.float32)
    valid = jnp.array([[True] * 4 + [False] * 2, [True] * 6])
    mask = padding_mask(valid)
    kv_b = kv_a.at[0, :, 4:].set(100.0)                   # change only the padded keys
    a = scaled_dot_product_attention(q, kv_a, kv_a, mask)
    b = scaled_dot_product_attention(q, kv_b, kv_b, mask)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_causal_lm_does_not_look_ahead(lm_and_params):
    lm, params = lm_and_params
    tokens = jnp.asarray(np.random.default_rng(5).integers(0, VOCAB, (3, 20)), jnp.int32)
    changed = tokens.at[:, 12:].set((tokens[:, 12:] + 1) % VOCAB)
    a, b = lm.apply(params, tokens), lm.apply(params, changed)
    np.testing.assert_allclose(a[:, :12], b[:, :12], atol=1e-5)
    assert np.abs(np.asarray(a[:, 12:] - b[:, 12:])).max() > 1e-3


def test_decode_with_cache_equals_full_forward(lm_and_params):
    lm, params = lm_and_params
    tokens = jnp.asarray(np.random.default_rng(6).integers(0, VOCAB, (2, 10)), jnp.int32)
    full = lm.apply(params, tokens)
    decode_step = jax.jit(lambda p, t, c: lm.apply(p, t, c, method=lm.decode))
    out = decode_step(params, tokens[:, :4], lm.init_cache(2, 10))
    logits = [out.logits]
    cache = out.cache
    for t in range(4, 10):
        out = decode_step(params, tokens[:, t:t + 1], cache)
        logits.append(out.logits)
        cache = out.cache
    assert int(cache.index) == 10
    np.testing.assert_allclose(jnp.concatenate(logits, axis=1), full, atol=1e-5)


def _greedy_reference(lm, params, prompt, n_new):
    """Greedy decoding by re-running the full model on the prefix (numpy argmax)."""
    seq = np.zeros((prompt.shape[0], prompt.shape[1] + n_new), np.int32)
    seq[:, :prompt.shape[1]] = np.asarray(prompt)
    forward = jax.jit(lm.apply)
    for t in range(prompt.shape[1], seq.shape[1]):
        logits = np.asarray(forward(params, jnp.asarray(seq)))[:, t - 1]
        seq[:, t] = logits.argmax(-1)
    return seq


def test_generation_with_cache_equals_without(lm_and_params):
    lm, params = lm_and_params
    prompt = jnp.asarray(np.random.default_rng(7).integers(0, VOCAB, (3, 5)), jnp.int32)
    ref = _greedy_reference(lm, params, prompt, 8)
    for use_cache in (True, False):
        greedy = generate(jax.random.key(8), lm, params, prompt, 8, temperature=0.0,
                          use_cache=use_cache)
        np.testing.assert_array_equal(greedy, ref)
        tiny_t = generate(jax.random.key(9), lm, params, prompt, 8, temperature=1e-4,
                          use_cache=use_cache)
        np.testing.assert_array_equal(tiny_t, ref)        # temperature -> 0 is greedy
    for top_k in (None, 3):
        a = generate(jax.random.key(10), lm, params, prompt, 8, temperature=1.5, top_k=top_k)
        b = generate(jax.random.key(10), lm, params, prompt, 8, temperature=1.5, top_k=top_k,
                     use_cache=False)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a[:, :5], prompt)
    compiled = _generate._cache_size()
    other = generate(jax.random.key(11), lm, params, prompt, 8, temperature=0.9, top_k=5)
    assert np.any(np.asarray(other) != np.asarray(a))       # another key, other samples
    assert _generate._cache_size() == compiled               # temperature, top_k are traced


def test_top_k_sampling_stays_in_top_k_with_softmax_frequencies():
    logits = jnp.array([0.3, 2.0, -1.0, 1.5, 0.9, 1.4])
    keys = jax.random.split(jax.random.key(12), 4000)
    draws = np.asarray(jax.vmap(sample_logits, in_axes=(0, None, None, None))(
        keys, logits, 0.7, 3))
    top3 = {1, 3, 5}
    assert set(np.unique(draws)) <= top3
    expected = _np_softmax(np.asarray(logits)[[1, 3, 5]] / 0.7)
    freq = np.array([(draws == i).mean() for i in (1, 3, 5)])
    np.testing.assert_allclose(freq, expected, atol=0.03)   # ~4σ for 4000 draws
    assert int(sample_logits(jax.random.key(13), logits, 0.0, 3)) == 1


def test_sinusoidal_table_matches_formula():
    pe = np.asarray(sinusoidal_positions(7, 6))
    p, i = np.arange(7)[:, None], np.arange(3)[None, :]
    np.testing.assert_allclose(pe[:, 0::2], np.sin(p / 10000 ** (2 * i / 6)), atol=1e-6)
    np.testing.assert_allclose(pe[:, 1::2], np.cos(p / 10000 ** (2 * i / 6)), atol=1e-6)


def test_sequence_longer_than_positional_table_raises(lm_and_params):
    lm, params = lm_and_params
    with pytest.raises(ValueError, match="x: sequence length 25 exceeds .*max_len=24"):
        lm.apply(params, jnp.zeros((1, 25), jnp.int32))
    with pytest.raises(ValueError, match="max_len=4"):
        SinusoidalPositionalEncoding(4).apply({}, jnp.zeros((1, 5, 8)))
    enc = LearnedPositionalEncoding(4)
    table = jax.jit(enc.init)(jax.random.key(13), jnp.zeros((1, 4, 8)))
    with pytest.raises(ValueError, match="max_len=4"):
        enc.apply(table, jnp.zeros((1, 5, 8)))
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(jax.random.key(14), lm, params, jnp.zeros((1, 20), jnp.int32), 5)


def test_bad_inputs_raise_naming_the_argument(lm_and_params):
    lm, params = lm_and_params
    with pytest.raises(ValueError, match="tokens: expected integer"):
        lm.apply(params, jnp.zeros((1, 4)))
    with pytest.raises(ValueError, match="tokens: ids must lie in"):
        lm.apply(params, jnp.full((1, 4), VOCAB, jnp.int32))
    with pytest.raises(ValueError, match="tokens: expected shape \\(batch, time\\)"):
        lm.apply(params, jnp.zeros((4,), jnp.int32))
    q = jnp.ones((2, 3, 4))
    with pytest.raises(ValueError, match="mask"):
        scaled_dot_product_attention(q, q, q, jnp.ones((3, 3), bool))
    with pytest.raises(ValueError, match="mask: expected a boolean"):
        scaled_dot_product_attention(q, q, q, jnp.ones((1, 3, 3)))
    prompt = jnp.ones((1, 3), jnp.int32)
    with pytest.raises(ValueError, match="top_k"):
        generate(jax.random.key(15), lm, params, prompt, 2, top_k=0)
    with pytest.raises(ValueError, match="temperature"):
        generate(jax.random.key(16), lm, params, prompt, 2, temperature=-1.0)
    with pytest.raises(ValueError, match="num_heads"):
        MultiHeadAttention(num_heads=3).init(jax.random.key(17), jnp.ones((1, 2, 8)))


@pytest.mark.no_key_reuse_check
@pytest.mark.slow   # tests/test_tour.py checks the quick chapter's addition in the default tier
def test_transformer_learns_two_digit_addition():
    """Done-when: >= 95 % exact match on held-out 2-digit + 2-digit problems."""
    data_key, init_key, fit_key, gen_key = jax.random.split(jax.random.key(18), 4)
    task = addition_problems(data_key, n_digits=2, n_train=8000, n_test=500)
    train_pairs = {tuple(p) for p in task.train_operands.tolist()}
    assert not any(tuple(p) in train_pairs for p in task.test_operands.tolist())
    length, start = task.train.shape[1], task.prompt_length
    lm = CausalLM(vocab_size=len(task.vocab), max_len=length, d_model=64, num_heads=4,
                  num_layers=2)

    def loss_fn(params, batch, key):
        logits = lm.apply({"params": params}, batch["tokens"][:, :-1])[:, start - 1:]
        logp = jax.nn.log_softmax(logits)
        target = batch["tokens"][:, start:]
        return -jnp.mean(jnp.take_along_axis(logp, target[..., None], -1)), {}

    n_steps = 400
    opt = optax.adamw(optax.warmup_cosine_decay_schedule(0.0, 3e-3, 50, n_steps, 1.5e-4),
                      weight_decay=0.01)
    params = jax.jit(lm.init)(init_key, task.train[:1])["params"]
    res = fit(fit_key, TrainState.create(params, opt), {"tokens": task.train}, loss_fn=loss_fn,
              n_steps=n_steps, batch_size=128, progress=False)
    out = generate(gen_key, lm, {"params": res.state.params}, task.test[:, :start],
                   length - start, temperature=0.0)
    answers = [int(s.split("=")[1]) for s in decode_addition(out)]
    truth = task.test_operands.sum(axis=1)
    exact = float(np.mean(np.asarray(answers) == truth))
    assert exact >= 0.95, exact
