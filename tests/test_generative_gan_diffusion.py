"""GANs (ring of Gaussians, DCGAN on digits) and diffusion (schedules, DDPM / DDIM on
two moons, classifier-free guidance, U-Net denoiser, bad input)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxphys.data import Standardizer, load_digits, two_moons
from jaxphys.generative import (DiffusionUNet, TimeMLP, ddim_sample, ddpm_loss, ddpm_sample,
                                q_sample, train_diffusion)
from jaxphys.generative._diffusion import _ancestral
from jaxphys.generative._gan import (DCDiscriminator, DCGenerator, MLPDiscriminator,
                                     MLPGenerator, discriminator_loss, gan_sample,
                                     generator_loss, init_gan, make_gan_step, train_gan)
from jaxphys.generative._schedules import (NoiseSchedule, cosine_schedule, linear_schedule,
                                           make_schedule)


# ----------------------------------------------------------------------------- GAN

def _ring(key, n, sigma=0.05, radius=2.0):
    centers = radius * np.stack([np.cos(2 * np.pi * np.arange(8) / 8),
                                 np.sin(2 * np.pi * np.arange(8) / 8)], 1)
    k_mode, k_noise = jax.random.split(key)
    idx = jax.random.randint(k_mode, (n,), 0, 8)
    return jnp.asarray(centers, jnp.float32)[idx] + sigma * jax.random.normal(k_noise, (n, 2)), \
        centers


@pytest.mark.slow
@pytest.mark.no_key_reuse_check
def test_gan_covers_at_least_7_of_8_ring_modes():
    sigma = 0.05
    x, centers = _ring(jax.random.key(0), 4000, sigma)
    g, d = MLPGenerator(2, (128, 128)), MLPDiscriminator((128, 128))
    res = train_gan(jax.random.key(1), g, d, x, latent_dim=2, n_steps=3000, batch_size=256,
                    learning_rate=1e-3)
    s = np.asarray(gan_sample(jax.random.key(2), g, res.state, 2000, 2))
    dist = np.linalg.norm(s[:, None, :] - centers[None], axis=-1)
    near = dist.min(1) < 3 * sigma                               # "high-quality" samples
    counts = np.bincount(dist.argmin(1)[near], minlength=8)
    covered = int(np.sum(counts >= 20))                          # ≥ 1 % of the samples
    assert covered >= 7, counts
    assert near.mean() > 0.5


@pytest.mark.no_key_reuse_check
def test_gan_learns_a_1d_gaussian():
    x = 2.0 + 0.5 * jax.random.normal(jax.random.key(0), (2000, 1))
    g, d = MLPGenerator(1, (32, 32)), MLPDiscriminator((32, 32))
    res = train_gan(jax.random.key(1), g, d, x, latent_dim=1, n_steps=1000, batch_size=128,
                    learning_rate=1e-3)
    s = np.asarray(gan_sample(jax.random.key(2), g, res.state, 4000, 1))[:, 0]
    assert abs(s.mean() - 2.0) < 0.15 and abs(s.std() - 0.5) < 0.15, (s.mean(), s.std())
    assert abs(res.history["d_real"][-1] - 0.5) < 0.2


def test_gan_losses_closed_form():
    real, fake = jnp.array([2.0, -1.0]), jnp.array([0.5, -3.0])
    want_d = np.mean(-np.log(1 / (1 + np.exp(-np.array([2.0, -1.0]))))) + np.mean(
        -np.log(1 - 1 / (1 + np.exp(-np.array([0.5, -3.0])))))
    want_g = np.mean(-np.log(1 / (1 + np.exp(-np.array([0.5, -3.0])))))
    assert float(discriminator_loss(real, fake)) == pytest.approx(want_d, rel=1e-5)
    assert float(generator_loss(fake)) == pytest.approx(want_g, rel=1e-5)


def test_gan_step_updates_each_player_with_its_own_loss_and_does_not_recompile():
    g, d = MLPGenerator(2, (8,)), MLPDiscriminator((8,))
    opt = optax.sgd(0.1)
    state = init_gan(jax.random.key(0), g, d, opt, opt, 3, jnp.zeros((4, 2)))
    step = make_gan_step(g, d, 3)
    x = jax.random.normal(jax.random.key(1), (4, 2))
    new, m = step(state, x, jax.random.key(2))
    changed = lambda a, b: any(not np.allclose(u, v) for u, v in  # noqa: E731
                               zip(jax.tree.leaves(a), jax.tree.leaves(b)))
    assert changed(new.generator.params, state.generator.params)
    assert changed(new.discriminator.params, state.discriminator.params)
    assert int(new.generator.step) == 1 and int(new.discriminator.step) == 1
    assert int(new.step) == 1 and int(m["skipped"]) == 0
    assert set(m) == {"d_loss", "g_loss", "d_real", "d_fake", "r1", "skipped"}
    n_compiled = step._cache_size()
    step(new, x, jax.random.key(3))
    assert step._cache_size() == n_compiled


@pytest.mark.parametrize("kw, match", [
    (dict(r1_penalty=-1.0), r"r1_penalty: expected values in \[0.0, inf\], got -1.0"),
    (dict(r1_penalty=float("nan")), r"r1_penalty: expected values in"),
    (dict(r1_penalty=True), r"r1_penalty: expected a number, got bool"),
    (dict(replay_fraction=1.5), r"replay_fraction: expected values in \[0.0, 1.0\], got 1.5"),
    (dict(replay_fraction="half"), r"replay_fraction: expected a number, got str"),
])
def test_make_gan_step_refuses_bad_settings(kw, match):
    with pytest.raises(ValueError, match=match):
        make_gan_step(MLPGenerator(2, (4,)), MLPDiscriminator((4,)), 3, **kw)


@pytest.mark.no_key_reuse_check
def test_dcgan_on_digits_trains_with_batch_norm_and_tanh_output():
    imgs = jnp.asarray(load_digits().x)[..., None] * 2.0 - 1.0      # [-1, 1]
    g, d = DCGenerator(features=8), DCDiscriminator(features=8)
    res = train_gan(jax.random.key(0), g, d, imgs, latent_dim=16, n_steps=150, batch_size=64,
                    learning_rate=2e-4, chunk_size=75)
    s = gan_sample(jax.random.key(1), g, res.state, 10, 16)
    assert s.shape == (10, 8, 8, 1) and bool(jnp.all(jnp.abs(s) <= 1.0))
    assert "batch_stats" in res.state.generator.model_state
    assert "batch_stats" in res.state.discriminator.model_state
    assert all(np.isfinite(res.history["d_loss"] + res.history["g_loss"]))


def test_train_gan_uses_each_players_optimizer():
    x = jax.random.normal(jax.random.key(0), (32, 2))
    g, d = MLPGenerator(2, (8,)), MLPDiscriminator((8,))
    kw = dict(latent_dim=2, n_steps=3, batch_size=16)
    frozen = optax.sgd(0.0)
    res = train_gan(jax.random.key(1), g, d, x, optimizer=frozen,
                    discriminator_optimizer=optax.adam(1e-2), **kw)
    init = init_gan(jax.random.split(jax.random.key(1))[0], g, d, frozen, frozen, 2, x[:16])
    same = lambda a, b: all(np.array_equal(u, v) for u, v in  # noqa: E731
                            zip(jax.tree.leaves(a), jax.tree.leaves(b)))
    assert same(res.state.generator.params, init.generator.params)
    assert not same(res.state.discriminator.params, init.discriminator.params)
    assert int(res.state.step) == 3 and int(res.state.discriminator.step) == 3


def test_gan_rejects_non_finite_data():
    x = np.ones((16, 2), np.float32)
    x[3, 0] = np.nan
    with pytest.raises(ValueError, match="x: expected finite"):
        train_gan(jax.random.key(0), MLPGenerator(2, (4,)), MLPDiscriminator((4,)), x,
                  latent_dim=2, n_steps=2)


# ----------------------------------------------------------------------------- schedules

def test_linear_and_cosine_schedules_match_closed_forms():
    s = linear_schedule(50, 1e-3, 0.05)
    b = np.linspace(1e-3, 0.05, 50)
    np.testing.assert_allclose(s.betas, b, rtol=1e-5)
    np.testing.assert_allclose(s.alpha_bars, np.cumprod(1 - b), rtol=1e-5)
    c = cosine_schedule(100, s=0.008)
    t = np.arange(1, 101) / 100
    f = lambda u: np.cos((u + 0.008) / 1.008 * np.pi / 2) ** 2  # noqa: E731
    np.testing.assert_allclose(c.alpha_bars[:-1], (f(t) / f(0.0))[:-1], rtol=1e-4, atol=1e-7)
    abar_prev = np.concatenate([[1.0], np.cumprod(1 - b)[:-1]])
    np.testing.assert_allclose(s.posterior_variance, b * (1 - abar_prev) / (1 - np.cumprod(1 - b)),
                               rtol=1e-5)


def test_invalid_noise_schedules_raise_clear_errors():
    with pytest.raises(ValueError, match="kind: unknown noise schedule"):
        make_schedule("sigmoid", 100)
    with pytest.raises(ValueError, match="betas"):
        NoiseSchedule.from_betas([0.1, 1.2])
    with pytest.raises(ValueError, match="betas"):
        NoiseSchedule.from_betas([0.1, np.nan])
    with pytest.raises(ValueError, match="n_steps"):
        linear_schedule(0)
    with pytest.raises(ValueError, match="beta_end"):
        linear_schedule(10, 0.1, 0.01)
    with pytest.raises(ValueError, match="beta_start"):
        linear_schedule(10, -0.1, 0.2)


def test_q_sample_marginal_moments():
    s = linear_schedule(100)
    x0 = jnp.full((20000, 1), 3.0)
    t = jnp.full((20000,), 40)
    xt = q_sample(s, x0, t, jax.random.normal(jax.random.key(0), x0.shape))
    ab = float(s.alpha_bars[40])
    assert float(jnp.mean(xt)) == pytest.approx(3.0 * np.sqrt(ab), abs=0.03)
    assert float(jnp.var(xt)) == pytest.approx(1.0 - ab, rel=0.05)


# ----------------------------------------------------------------------------- DDPM / DDIM

@pytest.mark.slow
@pytest.mark.no_key_reuse_check
def test_ddpm_and_ddim_on_two_moons_pass_c2st():
    from jaxphys.generative._c2st import c2st

    train = two_moons(jax.random.key(0), 4000, 0.05).x
    ref = two_moons(jax.random.key(1), 2000, 0.05).x
    st = Standardizer.fit(train)
    sched = make_schedule("cosine", 200)
    net = TimeMLP(widths=(128, 128, 128))
    res = train_diffusion(jax.random.key(2), net, sched, st.transform(train), n_steps=3000,
                          batch_size=256, learning_rate=2e-3)
    ddpm = st.inverse(ddpm_sample(jax.random.key(3), net, res.state.params, sched, 2000, (2,)))
    ddim = st.inverse(ddim_sample(jax.random.key(4), net, res.state.params, sched, 2000, (2,),
                                  n_steps=50))
    acc_ddpm = c2st(jax.random.key(5), ref, ddpm)
    acc_ddim = c2st(jax.random.key(6), ref, ddim)
    assert acc_ddpm <= 0.55, acc_ddpm
    assert acc_ddim <= 0.6, acc_ddim


@pytest.mark.no_key_reuse_check
def test_ddpm_and_ddim_reproduce_a_correlated_gaussian():
    mean = np.array([1.0, -1.0])
    cov = np.array([[1.0, 0.8], [0.8, 1.0]])
    x = np.random.default_rng(0).multivariate_normal(mean, cov, size=4000).astype(np.float32)
    sched = make_schedule("linear", 100, beta_end=0.1)
    net = TimeMLP(widths=(64, 64))
    res = train_diffusion(jax.random.key(0), net, sched, x, n_steps=800, batch_size=256,
                          learning_rate=3e-3)
    for s in (ddpm_sample(jax.random.key(1), net, res.state.params, sched, 3000, (2,)),
              ddim_sample(jax.random.key(2), net, res.state.params, sched, 3000, (2,), n_steps=25)):
        s = np.asarray(s)
        np.testing.assert_allclose(s.mean(0), mean, atol=0.15)
        np.testing.assert_allclose(np.cov(s.T), cov, atol=0.2)
    # the sampler is compiled once per (model, shape)
    n_compiled = _ancestral._cache_size()
    ddpm_sample(jax.random.key(5), net, res.state.params, sched, 3000, (2,))
    assert _ancestral._cache_size() == n_compiled


@pytest.mark.no_key_reuse_check
def test_classifier_free_guidance_generates_the_requested_class():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=3000)
    x = (np.stack([4.0 * y - 2.0, np.zeros_like(y, float)], 1)
         + 0.3 * rng.normal(size=(3000, 2))).astype(np.float32)
    sched = make_schedule("cosine", 100)
    net = TimeMLP(widths=(64, 64), n_classes=2)
    res = train_diffusion(jax.random.key(0), net, sched, x, y, n_steps=800, batch_size=256,
                          learning_rate=3e-3, cond_drop=0.2)
    labels = jnp.asarray(np.repeat([0, 1], 500))
    acc = {}
    for w in (0.0, 3.0):
        s = np.asarray(ddim_sample(jax.random.key(1), net, res.state.params, sched, 1000, (2,),
                                   n_steps=50, labels=labels, guidance=w))
        acc[w] = np.mean((s[:, 0] > 0).astype(int) == np.asarray(labels))
    # unguided: mostly the requested class; guided: sharper
    assert acc[0.0] > 0.85 and acc[3.0] > 0.95 and acc[3.0] >= acc[0.0], acc


@pytest.mark.slow   # conv compile in a scan dominates on CPU; ch11 quick covers it
@pytest.mark.no_key_reuse_check
def test_unet_denoiser_on_digits_reduces_the_loss():
    ds = load_digits()
    imgs = jnp.asarray(ds.x)[..., None] * 2.0 - 1.0
    sched = make_schedule("linear", 100, beta_end=0.1)
    net = DiffusionUNet(features=8, depth=1, n_classes=10)
    res = train_diffusion(jax.random.key(0), net, sched, imgs, ds.y, n_steps=100, batch_size=64,
                          learning_rate=2e-3)
    loss_fn = ddpm_loss(net, sched)
    batch = {"x": imgs[:256], "y": jnp.asarray(ds.y[:256])}
    v0 = net.init(jax.random.key(0), imgs[:1], jnp.zeros(1, jnp.int32), batch["y"][:1])
    before = float(loss_fn(v0, batch, jax.random.key(7))[0])
    after = float(loss_fn(res.state.params, batch, jax.random.key(7))[0])
    assert after < 0.7 * before, (after, before)
    s = ddim_sample(jax.random.key(1), net, res.state.params, sched, 4, (8, 8, 1), n_steps=10,
                    labels=jnp.arange(4), guidance=1.0)
    assert s.shape == (4, 8, 8, 1) and bool(jnp.all(jnp.isfinite(s)))


def test_diffusion_bad_input():
    net = TimeMLP(widths=(4,))
    sched = linear_schedule(10)
    x = np.ones((8, 2), np.float32)
    x[1, 1] = np.inf
    with pytest.raises(ValueError, match="x: expected finite"):
        train_diffusion(jax.random.key(0), net, sched, x, n_steps=2)
    with pytest.raises(ValueError, match="y"):
        train_diffusion(jax.random.key(0), net, sched, np.ones((8, 2)), np.zeros(8), n_steps=2)
    conditional = TimeMLP(widths=(4,), n_classes=3)
    for bad in (np.array([0, 1, 2, 3] * 2), np.array([0, -1] * 4), np.full(8, 0.5)):
        with pytest.raises(ValueError, match="y: "):
            train_diffusion(jax.random.key(0), conditional, sched, np.ones((8, 2)), bad,
                            n_steps=2)
    with pytest.raises(ValueError, match="learning_rate"):
        train_diffusion(jax.random.key(0), net, sched, np.ones((8, 2)), n_steps=2,
                        learning_rate=-1e-3)
    with pytest.raises(ValueError, match="clip_norm"):
        train_diffusion(jax.random.key(0), net, sched, np.ones((8, 2)), n_steps=2,
                        clip_norm=0.0)
    v = net.init(jax.random.key(0), jnp.zeros((1, 2)), jnp.zeros(1, jnp.int32))
    with pytest.raises(ValueError, match="n_steps"):
        ddim_sample(jax.random.key(0), net, v, sched, 3, (2,), n_steps=50)
    with pytest.raises(ValueError, match="cond_drop"):
        ddpm_loss(net, sched, cond_drop=1.5)
    with pytest.raises(ValueError, match="labels"):
        ddpm_sample(jax.random.key(0), net, v, sched, 3, (2,), labels=jnp.zeros(5))
    for bad in ((1.0, -1.0), (0.0, np.inf), (1.0,), "ab"):
        with pytest.raises(ValueError, match="x0_range"):
            ddim_sample(jax.random.key(0), net, v, sched, 3, (2,), n_steps=5, x0_range=bad)
    with pytest.raises(ValueError, match="batch_size: expected at most the 8 samples"):
        train_gan(jax.random.key(0), MLPGenerator(2, (4,)), MLPDiscriminator((4,)),
                  np.ones((8, 2), np.float32), latent_dim=2, n_steps=2, batch_size=9)


class _ScaledNoise(nn.Module):
    """A stand-in denoiser whose ε̂ = -3·x_t implies x̂₀ far outside [-1, 1]."""

    @nn.compact
    def __call__(self, x, t, y=None):
        return -3.0 * x + 0.0 * self.param("unused", nn.initializers.zeros, ())


def test_x0_range_clips_the_denoised_prediction():
    """Both samplers end on x̂₀ (DDIM's last step has ᾱ_prev = 1; DDPM's last step has
    zero posterior variance and mean x̂₀), so with x0_range every sample lies in it;
    without, this denoiser's samples do not. Inside the range, clipping changes nothing."""
    net = _ScaledNoise()
    v = net.init(jax.random.key(0), jnp.zeros((1, 2)), jnp.zeros(1, jnp.int32))
    sched = linear_schedule(50)
    for sample in (lambda **kw: ddim_sample(jax.random.key(1), net, v, sched, 400, (2,),
                                            n_steps=10, **kw),
                   lambda **kw: ddpm_sample(jax.random.key(1), net, v, sched, 400, (2,), **kw)):
        free, clipped = np.asarray(sample()), np.asarray(sample(x0_range=(-1.0, 1.0)))
        assert np.abs(free).max() > 1.5
        assert clipped.min() >= -1.0 - 1e-4 and clipped.max() <= 1.0 + 1e-4
        wide = np.asarray(sample(x0_range=(-1e6, 1e6)))
        np.testing.assert_allclose(wide, free, rtol=1e-5, atol=1e-5)
