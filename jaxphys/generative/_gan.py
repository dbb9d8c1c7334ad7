r"""Generative adversarial networks with alternating updates, and three remedies for
mode collapse.

A generator ``G(z)``, ``z ~ N(0, I)``, and a discriminator ``D(x)`` (a logit) play
(Goodfellow et al. 2014). The discriminator minimises the binary cross-entropy

.. math:: L_D = -E_x \log σ(D(x)) - E_z \log(1 - σ(D(G(z))))
             = E_x\,\mathrm{softplus}(-D(x)) + E_z\,\mathrm{softplus}(D(G(z)));

the generator uses the *non-saturating* loss
``L_G = -E_z log σ(D(G(z))) = E_z softplus(-D(G(z)))``, whose gradient does not vanish
when D confidently rejects the fakes early in training.

One GAN step is two ordinary train steps from ``jaxphys.core.make_train_step``,
composed: first D (with the fakes held fixed and passed in the batch), then G (with
the updated D held fixed), the pair wrapped in ``jaxphys.core.skip_nonfinite``. D
always sees real and generated samples in *separate* batches, in its own step and in
G's: with batch norm in D, both steps then normalise a fake batch by fake statistics
(a fakes-only batch in G's step against a mixed batch in D's lets G fool a D that
never exists, and the GAN collapses). Both players' :class:`jaxphys.core.TrainState`
(each with its own optimiser) live in a :class:`GANState` with its own step counter,
which :func:`jaxphys.core.fit` trains, checkpoints and resumes like any state.

Remedies for mode collapse (the generator producing a few samples only):

* *minibatch discrimination* (Salimans et al. 2016): D compares the samples of a batch
  with each other — the ``minibatch_kernels`` attribute of :class:`MLPDiscriminator`
  and :class:`DCDiscriminator`, or :class:`MinibatchDiscrimination` in one's own D;
* *experience replay* (Shrivastava et al. 2017, "Learning from simulated and
  unsupervised images through adversarial training"; Pfau & Vinyals 2016): D also
  trains on older fakes from a buffer in the state, so that G cannot win by hopping
  between modes D has forgotten (``replay_size``, ``replay_fraction``);
* the *R1 gradient penalty* (Mescheder, Geiger & Nowozin 2018, "Which training methods
  for GANs do actually converge?"): ``L_D += (γ/2) E_x ‖∇_x D(x)‖²`` on real data
  damps the oscillation around the equilibrium (``r1_penalty = γ``).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from .._checks import as_array, as_float, as_int, check_finite, check_key
from ..core import FitResult, LossAux, TrainState, fit, make_train_step, skip_nonfinite
from ._gan_models import (DCDiscriminator, DCGenerator, MinibatchDiscrimination,
                          MLPDiscriminator, MLPGenerator)
from ._training import check_learning_rate, fit_settings

__all__ = ["MLPGenerator", "MLPDiscriminator", "DCGenerator", "DCDiscriminator",
           "MinibatchDiscrimination", "GANState", "make_gan_step", "init_gan", "train_gan",
           "gan_sample", "discriminator_loss", "generator_loss"]


class GANState(struct.PyTreeNode):
    """Both players' train states, the GAN's own step counter and the replay buffer of
    older fakes (a pytree, so that :func:`jaxphys.core.run_steps` and
    :func:`jaxphys.core.fit` train it, checkpoint it and resume it like any state).

    Fields:
      step: int32 scalar, GAN steps taken (skipped non-finite steps included).
      generator: :class:`jaxphys.core.TrainState` of G, with its own optimiser ``tx``
        (``model_state`` holds its batch statistics, ``{}`` without batch norm).
      discriminator: :class:`jaxphys.core.TrainState` of D, likewise.
      n_skipped: int32 scalar, GAN steps whose result was not finite and which
        :func:`jaxphys.core.skip_nonfinite` therefore undid (both players untouched).
      replay: float32 ``(replay_size, *sample_shape)``, older fakes for experience
        replay (filled with the initial generator's samples), or ``None`` without replay.

    Example:
        >>> from jaxphys.generative import GANState, MLPDiscriminator, MLPGenerator, init_gan
        >>> s = init_gan(jax.random.key(0), MLPGenerator(2, (4,)), MLPDiscriminator((4,)),
        ...              optax.adam(1e-3), optax.adam(1e-3), 3, jnp.zeros((2, 2)))
        >>> isinstance(s, GANState), int(s.step), int(s.n_skipped), s.replay is None
        (True, 0, 0, True)
        >>> int(s.generator.step), int(s.discriminator.step)   # each player's own state
        (0, 0)
    """

    step: jax.Array
    generator: TrainState
    discriminator: TrainState
    n_skipped: jax.Array
    replay: jax.Array | None = None

    @classmethod
    def create(cls, generator: TrainState, discriminator: TrainState,
               replay: jax.Array | None = None) -> "GANState":
        """A GAN state at step 0 from the two players' states (and an optional filled
        replay buffer ``(replay_size, *sample_shape)``)."""
        for name, player in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(player, TrainState):
                raise TypeError(f"{name}: expected a jaxphys.core.TrainState, got "
                                f"{type(player).__name__}")
        return cls(step=jnp.zeros((), jnp.int32), generator=generator,
                   discriminator=discriminator, n_skipped=jnp.zeros((), jnp.int32),
                   replay=replay)


def discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """``mean softplus(-D(x)) + mean softplus(D(G(z)))`` (BCE with labels 1 real / 0 fake).

    Example:
        >>> round(float(discriminator_loss(jnp.zeros(4), jnp.zeros(4))), 4)   # 2 log 2
        1.3863
    """
    return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


def generator_loss(fake_logits: jax.Array) -> jax.Array:
    """Non-saturating generator loss ``mean softplus(-D(G(z))) = -mean log σ(D(G(z)))``.

    Example:
        >>> round(float(generator_loss(jnp.zeros(4))), 4)   # log 2
        0.6931
    """
    return jnp.mean(jax.nn.softplus(-fake_logits))


def _apply(model, variables, x):
    """Apply a module in train mode: ``(y, updated collections)``; the collections other
    than ``'params'`` (batch statistics) are mutable and returned, ``{}`` when none."""
    collections = [name for name in variables if name != "params"]
    if collections:
        y, updates = model.apply(variables, x, train=True, mutable=collections)
        return y, dict(updates)
    return model.apply(variables, x, train=True), {}


def _x_of(batch):
    if isinstance(batch, dict):
        if "x" not in batch:
            raise ValueError(f"batch: expected an array of real samples or a dict with key "
                             f"'x', got keys {sorted(batch)}")
        return batch["x"]
    return batch


def make_gan_step(generator: nn.Module, discriminator: nn.Module, latent_dim: int, *,
                  r1_penalty: float = 0.0, replay_fraction: float = 0.5, jit: bool = True):
    """Compose one GAN update ``gan_step(state, batch, key) -> (state, metrics)``.

    ``state`` is a :class:`GANState`; ``batch`` is the real samples ``x`` ``(B, ...)`` or
    ``{'x': x}`` (``B`` also sets the number of fakes). First ``B`` fakes are drawn from
    G (train mode, no gradient); when the state has a replay buffer, a share
    ``replay_fraction`` of them is swapped for buffer entries drawn at random, and as
    many fresh fakes overwrite random buffer entries. The discriminator step is
    ``make_train_step(d_loss)`` with batch ``{'x': x, 'fake': fakes}``: D is applied
    to the real batch and to the fake batch separately (batch statistics chained
    through both), plus ``(r1_penalty/2)·mean_i ‖∇_x D(x_i)‖²`` on the real batch when
    ``r1_penalty > 0``. Then the generator step is ``make_train_step(g_loss)`` with batch
    ``{'x': x, 'discriminator': the updated D's variables}``, D applied in train mode
    to a fresh fake batch (its statistic updates discarded). Each player's optimiser is
    its own ``TrainState.tx``; a player with batch statistics takes the core's
    model-state path (a :class:`jaxphys.core.LossAux`). The whole update is wrapped in
    :func:`jaxphys.core.skip_nonfinite`: a non-finite result leaves the state untouched.

    Args:
        generator, discriminator, latent_dim: the players and the latent size.
        r1_penalty: γ of the R1 gradient penalty (0: none); a Python float.
        replay_fraction: share of the fakes D sees that come from the replay buffer
            (used only when the state has one, see :func:`init_gan`).
        jit: return the step jitted (``False``, e.g. for :func:`jaxphys.core.run_steps`).

    Returns:
        ``gan_step``; metrics ``d_loss``, ``g_loss``, ``d_real`` (mean σ(D(x))),
        ``d_fake`` (mean σ(D(fakes))), ``r1`` (mean ‖∇_x D(x)‖², 0 without the penalty)
        as float scalars and ``skipped`` (int32 0/1).

    Example:
        >>> g, d = MLPGenerator(2, (4,)), MLPDiscriminator((4,))
        >>> s = init_gan(jax.random.key(0), g, d, optax.adam(1e-3), optax.adam(1e-3), 3,
        ...              jnp.zeros((4, 2)))
        >>> s, m = make_gan_step(g, d, 3)(s, jnp.ones((4, 2)), jax.random.key(1))
        >>> int(s.step), int(s.generator.step), sorted(m)
        (1, 1, ['d_fake', 'd_loss', 'd_real', 'g_loss', 'r1', 'skipped'])
    """
    latent_dim = as_int(latent_dim, "latent_dim", minimum=1)
    gamma = as_float(r1_penalty, "r1_penalty", low=0.0)
    replay_fraction = as_float(replay_fraction, "replay_fraction", low=0.0, high=1.0)

    def fakes(g_variables, n, key):
        z = jax.random.normal(key, (n, latent_dim))
        return _apply(generator, g_variables, z)

    def d_loss(stateful):
        def loss_fn(d_in, batch, key):
            del key
            variables = d_in if stateful else {"params": d_in}

            def real_sum(x):
                logits, updates = _apply(discriminator, variables, x)
                return jnp.sum(logits), (logits, updates)

            if gamma > 0:
                (_, (real_l, updates)), grad_x = jax.value_and_grad(real_sum, has_aux=True)(
                    batch["x"])
                r1 = jnp.mean(jnp.sum(grad_x.reshape(grad_x.shape[0], -1) ** 2, axis=1))
            else:
                _, (real_l, updates) = real_sum(batch["x"])
                r1 = jnp.zeros((), real_l.dtype)
            fake_l, updates = _apply(discriminator, {**variables, **updates}, batch["fake"])
            metrics = {"d_real": jnp.mean(jax.nn.sigmoid(real_l)),
                       "d_fake": jnp.mean(jax.nn.sigmoid(fake_l)), "r1": r1}
            loss = discriminator_loss(real_l, fake_l) + 0.5 * gamma * r1
            return loss, (LossAux(metrics, updates) if stateful else metrics)
        return loss_fn

    def g_loss(stateful):
        def loss_fn(g_in, batch, key):
            g_variables = g_in if stateful else {"params": g_in}
            fake, updates = fakes(g_variables, batch["x"].shape[0], key)
            logits, _ = _apply(discriminator, batch["discriminator"], fake)
            return generator_loss(logits), (LossAux({}, updates) if stateful else {})
        return loss_fn

    d_steps = {flag: make_train_step(d_loss(flag), guard_nonfinite=False, jit=False)
               for flag in (False, True)}
    g_steps = {flag: make_train_step(g_loss(flag), guard_nonfinite=False, jit=False)
               for flag in (False, True)}

    def gan_step(state: GANState, batch, key: jax.Array):
        if not isinstance(state, GANState):
            raise TypeError(f"state: expected a GANState (see init_gan), got "
                            f"{type(state).__name__}")
        x = _x_of(batch)
        fake_key, replay_key, d_key, g_key = jax.random.split(key, 4)
        g, d = state.generator, state.discriminator
        fake, _ = fakes(g.variables, x.shape[0], fake_key)
        fake = jax.lax.stop_gradient(fake)
        replay = state.replay
        if replay is not None and replay_fraction > 0:
            fake, replay = _replay(replay_key, replay, fake, replay_fraction)
        d_step = d_steps[bool(jax.tree.leaves(d.model_state))]
        g_step = g_steps[bool(jax.tree.leaves(g.model_state))]
        d, d_metrics = d_step(d, {"x": x, "fake": fake}, d_key)
        g, g_metrics = g_step(g, {"x": x, "discriminator": d.variables}, g_key)
        metrics = {"d_loss": d_metrics["loss"], "g_loss": g_metrics["loss"],
                   "d_real": d_metrics["d_real"], "d_fake": d_metrics["d_fake"],
                   "r1": d_metrics["r1"]}
        return state.replace(step=state.step + 1, generator=g, discriminator=d,
                             replay=replay), metrics

    step = skip_nonfinite(gan_step)
    return jax.jit(step) if jit else step


def _replay(key, buffer, fake, fraction):
    """Swap ``round(fraction·B)`` of the fakes for random buffer entries and write as
    many fresh fakes over random buffer entries: ``(fakes D sees, new buffer)``."""
    n = fake.shape[0]
    k = min(int(round(fraction * n)), n, buffer.shape[0])
    if k == 0:
        return fake, buffer
    read_key, write_key = jax.random.split(key)
    old = buffer[jax.random.choice(read_key, buffer.shape[0], (k,), replace=False)]
    slots = jax.random.choice(write_key, buffer.shape[0], (k,), replace=False)
    buffer = buffer.at[slots].set(fake[:k].astype(buffer.dtype))
    return jnp.concatenate([old.astype(fake.dtype), fake[k:]]), buffer


def init_gan(key: jax.Array, generator: nn.Module, discriminator: nn.Module, g_optimizer,
             d_optimizer, latent_dim: int, example_x: jax.Array, *,
             replay_size: int = 0) -> GANState:
    """Initialise both players, each with its own optimiser (an optax transformation);
    ``example_x`` is a batch ``(n, ...)`` of data (n ≥ 2 for batch norm). With
    ``replay_size > 0`` the state carries a replay buffer of that many fakes, filled with
    samples of the initial generator (eval mode).

    Example:
        >>> s = init_gan(jax.random.key(0), MLPGenerator(2, (4,)), MLPDiscriminator((4,)),
        ...              optax.adam(1e-3), optax.adam(1e-3), 3, jnp.zeros((2, 2)),
        ...              replay_size=5)
        >>> s.generator.params["Dense_0"]["kernel"].shape, int(s.step), s.replay.shape
        ((3, 4), 0, (5, 2))
    """
    check_key(key)
    latent_dim = as_int(latent_dim, "latent_dim", minimum=1)
    replay_size = as_int(replay_size, "replay_size", minimum=0)
    g_key, d_key, replay_key = jax.random.split(key, 3)
    example_x = jnp.asarray(example_x)
    n = int(example_x.shape[0])
    # compiled: an eager flax init dispatches every small op on its own (seconds for a DCGAN)
    g_vars = jax.jit(generator.init)(g_key, jnp.zeros((n, latent_dim)))
    d_vars = jax.jit(discriminator.init)(d_key, example_x)
    replay = None
    if replay_size:
        z = jax.random.normal(replay_key, (replay_size, latent_dim))
        replay = jax.jit(generator.apply, static_argnames="train")(g_vars, z, train=False)
        replay = replay.astype(jnp.float32)
    return GANState.create(TrainState.from_variables(g_vars, g_optimizer),
                           TrainState.from_variables(d_vars, d_optimizer), replay)


def gan_sample(key: jax.Array, generator: nn.Module, state: GANState, n: int,
               latent_dim: int) -> jax.Array:
    """``n`` samples ``G(z)``, ``z ~ N(0, I)``, with G in eval mode (running batch stats).

    Example:
        >>> g = MLPGenerator(2, (4,))
        >>> s = init_gan(jax.random.key(0), g, MLPDiscriminator((4,)),
        ...              optax.adam(1e-3), optax.adam(1e-3), 3, jnp.zeros((2, 2)))
        >>> gan_sample(jax.random.key(1), g, s, 5, 3).shape
        (5, 2)
    """
    check_key(key)
    n = as_int(n, "n", minimum=1)
    z = jax.random.normal(key, (n, as_int(latent_dim, "latent_dim", minimum=1)))
    return generator.apply(state.generator.variables, z, train=False)


def train_gan(key: jax.Array, generator: nn.Module, discriminator: nn.Module, x, *,
              latent_dim: int, n_steps: int = 5000, batch_size: int = 256,
              learning_rate: float = 2e-4, b1: float = 0.5, optimizer=None,
              discriminator_optimizer=None, r1_penalty: float = 0.0, replay_size: int = 0,
              replay_fraction: float = 0.5, chunk_size: int = 500, progress: bool = False,
              **fit_kwargs) -> FitResult:
    """Train a GAN on ``x`` (N, ...): :func:`make_gan_step` driven by
    :func:`jaxphys.core.fit` (minibatches of ``batch_size`` from a fresh permutation
    each epoch; jitted ``lax.scan`` chunks of ``chunk_size`` steps, one history entry
    per chunk), so a run checkpoints and resumes bit for bit (``checkpoint_dir=``).

    Args:
        key: PRNG key (initialisation, minibatches, latent draws, replay).
        generator, discriminator: the players (flax modules called as
            ``apply(variables, input, train=...)``); minibatch discrimination is the
            discriminator's ``minibatch_kernels`` attribute (see the module docstring).
        x: real samples ``(N, ...)`` (finite).
        latent_dim: size of the latent ``z ~ N(0, I)``.
        n_steps, batch_size: GAN steps and minibatch size (at most N).
        learning_rate, b1: the default optimiser, ``optax.adam(learning_rate, b1=b1)``
            for each player (Radford et al. 2016: β₁ = 0.5); learning_rate > 0.
        optimizer: optional optax transformation for the generator (and for the
            discriminator unless ``discriminator_optimizer`` is given).
        discriminator_optimizer: optional optax transformation for the discriminator.
        r1_penalty: γ ≥ 0 of the R1 gradient penalty on real data (0: none).
        replay_size: fakes kept in the replay buffer (0: no experience replay).
        replay_fraction: share of each fake batch drawn from the buffer, in [0, 1].
        chunk_size: GAN steps per jitted chunk and history entry.
        **fit_kwargs: passed to :func:`jaxphys.core.fit` (``checkpoint_dir``,
            ``checkpoint_every``, ``callback`` ...).

    Returns:
        a :class:`jaxphys.core.FitResult` whose ``state`` is the :class:`GANState` and
        whose history has ``'d_loss'``, ``'g_loss'``, ``'d_real'``, ``'d_fake'``, ``'r1'``
        (means over each chunk) and ``'skipped'``.

    Raises:
        ValueError naming ``x`` for non-finite or non-batched data, and naming the
        option for a non-positive learning rate, a negative penalty or buffer size, or a
        replay fraction outside [0, 1].

    Example:
        >>> res = train_gan(jax.random.key(0), MLPGenerator(2, (8,)), MLPDiscriminator((8,)),
        ...                 jnp.ones((16, 2)), latent_dim=2, n_steps=4, batch_size=4, chunk_size=2)
        >>> len(res.history["d_loss"]), int(res.state.step)
        (2, 4)
    """
    check_key(key)
    x = as_array(x, "x").astype(jnp.float32)
    if x.ndim < 2:
        raise ValueError(f"x: expected a batch (N, ...) of samples, got shape {tuple(x.shape)}")
    check_finite(x, "x")
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    if batch_size > x.shape[0]:
        raise ValueError(f"batch_size: expected at most the {x.shape[0]} samples of x, got "
                         f"{batch_size}")
    chunk_size = as_int(chunk_size, "chunk_size", minimum=1)
    if optimizer is None:
        optimizer = optax.adam(check_learning_rate(learning_rate), b1=b1)
    d_optimizer = optimizer if discriminator_optimizer is None else discriminator_optimizer
    step = make_gan_step(generator, discriminator, latent_dim, r1_penalty=r1_penalty,
                         replay_fraction=replay_fraction, jit=False)
    init_key, fit_key = jax.random.split(key)
    z = jnp.zeros((1, latent_dim))       # latent_dim is checked by make_gan_step
    fake = jax.eval_shape(lambda k: generator.apply(generator.init(k, z), z, train=False),
                          init_key)     # abstract: nothing is compiled
    if tuple(fake.shape[1:]) != tuple(x.shape[1:]):
        raise ValueError(f"x: samples of shape {tuple(x.shape[1:])} differ from the "
                         f"generator's {tuple(fake.shape[1:])}")
    state = init_gan(init_key, generator, discriminator, optimizer, d_optimizer, latent_dim,
                     x[: max(2, batch_size)], replay_size=replay_size)
    settings = fit_settings(fit_kwargs, n_steps=n_steps, batch_size=batch_size,
                            chunk_size=min(chunk_size, n_steps),
                            progress=progress, desc="gan")
    return fit(fit_key, state, {"x": x}, step=step, **settings)
