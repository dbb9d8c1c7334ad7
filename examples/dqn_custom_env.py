"""Your own environment with DQN: a particle that must find the bottom of a potential.

``DoubleWell`` is written here as a pure, single-instance environment (subclass of
``jaxphys.rl.envs.Environment``: ``reset_env`` and ``step_env``, with the auto-reset
and the batching supplied by the library). A particle on a lattice of ``n_sites`` sites
moves left, stays or moves right; the reward is the drop in potential energy minus a
cost per move, and the episode ends at the global minimum of an asymmetric double
well. DQN (``make_dqn``) learns to roll past the local minimum to the global one.

    python examples/dqn_custom_env.py [--quick]
"""

import argparse
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys.rl import DQNConfig, evaluate, make_dqn
from jaxphys.rl.envs import Box, Discrete, Environment


class WellParams(NamedTuple):
    tilt: jax.Array            # asymmetry of the double well (a float one may vmap over)
    step_cost: jax.Array       # reward per move


class WellState(NamedTuple):
    site: jax.Array            # int32 position
    t: jax.Array               # int32 steps in this episode


class DoubleWell(Environment):
    """V(x) = (x² − 1)² + tilt·x on x ∈ [−1.5, 1.5], ``n_sites`` lattice sites."""

    def __init__(self, n_sites: int = 31, max_steps: int = 60):
        self.n_sites, self.max_steps = n_sites, max_steps
        self.x = jnp.linspace(-1.5, 1.5, n_sites)

    def default_params(self):
        return WellParams(tilt=jnp.asarray(0.3), step_cost=jnp.asarray(0.05))

    def potential(self, params):
        return (self.x ** 2 - 1.0) ** 2 + params.tilt * self.x

    def goal(self, params):
        return jnp.argmin(self.potential(params))

    def observation_space(self, params):
        return Box(-10.0, 10.0, (2,))

    def action_space(self, params):
        return Discrete(3)                              # left, stay, right

    def _obs(self, site, params):
        return jnp.stack([self.x[site], self.potential(params)[site]])

    def reset_env(self, key, params):
        site = jax.random.randint(key, (), 0, self.n_sites)
        return self._obs(site, params), WellState(site, jnp.asarray(0, jnp.int32))

    def step_env(self, key, state, action, params):
        v = self.potential(params)
        site = jnp.clip(state.site + action - 1, 0, self.n_sites - 1)
        t = state.t + 1
        reward = v[state.site] - v[site] - params.step_cost
        terminated = site == self.goal(params)
        truncated = (t >= self.max_steps) & ~terminated
        return (self._obs(site, params), WellState(site, t), reward, terminated, truncated, {})


def main(quick: bool = False) -> dict:
    env = DoubleWell()
    params = env.default_params()
    config = DQNConfig(total_timesteps=10_000 if quick else 60_000, n_envs=8, buffer_size=4_000,
                       batch_size=64, learning_starts=500, target_update_interval=200,
                       hidden=(64,))
    agent = make_dqn(env, params, config)
    hparams = agent.default_hparams._replace(learning_rate=1e-3, gamma=0.99)
    result = jax.jit(agent.train)(jax.random.key(0), hparams)

    def run(key, policy, n_episodes):                 # evaluate as one compiled program
        return jax.jit(lambda k: evaluate(k, env, params, policy, n_episodes=n_episodes,
                                          max_steps=env.max_steps))(key)

    episodes = run(jax.random.key(1), agent.policy(result.state.params), 64)
    space = env.action_space(params)
    uniform = run(jax.random.key(2), lambda key, obs: space.sample(key), 256)
    reached = float(np.mean(np.asarray(episodes.lengths) < env.max_steps))
    reached_random = float(np.mean(np.asarray(uniform.lengths) < env.max_steps))
    print(f"DQN on a custom double well, {config.total_timesteps} steps: greedy policy reaches "
          f"the global minimum in {100 * reached:.0f} % of 64 episodes, "
          f"mean {float(np.mean(episodes.lengths)):.1f} moves "
          f"(random policy: {100 * reached_random:.0f} %; lattice of {env.n_sites} sites, "
          f"time limit {env.max_steps})")
    return {"reached": reached, "reached_random": reached_random,
            "mean_length": float(np.mean(episodes.lengths))}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, small sizes")
    main(quick=parser.parse_args().quick)
