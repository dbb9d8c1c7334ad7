"""Your own network in PPO: ``make_ppo(env, env_params, config, network=...)``.

The network is a flax module written here: one shared torso with a policy head and a
value head, returning ``(logits, value)`` (separate actor and critic models go in as
``ActorCritic(actor, critic)`` instead). The agent checks its outputs against the action
space when it is built; ``agent.train`` is one jittable function,
and the trained policy is evaluated greedily against a uniformly random one.

    python examples/ppo_custom_network.py [--quick]
"""

import argparse

import flax.linen as nn
import jax

from jaxphys.rl import PPOConfig, evaluate, make_ppo
from jaxphys.rl.envs import CartPole


class SharedActorCritic(nn.Module):
    """One torso, two heads: obs (4,) -> (logits (n_actions,), value ())."""

    n_actions: int
    width: int = 64

    @nn.compact
    def __call__(self, obs):
        h = nn.tanh(nn.Dense(self.width)(obs))
        h = nn.tanh(nn.Dense(self.width)(h))
        logits = nn.Dense(self.n_actions, kernel_init=nn.initializers.orthogonal(0.01))(h)
        value = nn.Dense(1)(h)[..., 0]
        return logits, value


def main(quick: bool = False) -> dict:
    env = CartPole()
    params = env.default_params()
    n_actions = env.action_space(params).n
    network = SharedActorCritic(n_actions)
    config = PPOConfig(total_timesteps=8_192 if quick else 200_000, n_envs=8, n_steps=128)
    agent = make_ppo(env, params, config, network=network)
    hparams = agent.default_hparams._replace(learning_rate=1e-3)
    result = jax.jit(agent.train)(jax.random.key(0), hparams)

    def episodes(key, policy, n_episodes):            # evaluate as one compiled program
        return jax.jit(lambda k: evaluate(k, env, params, policy, n_episodes=n_episodes,
                                          max_steps=500))(key)

    key_greedy, key_random = jax.random.split(jax.random.key(1))
    trained = episodes(key_greedy, agent.policy(result.state.params), 16)
    space = env.action_space(params)
    uniform = episodes(key_random, lambda key, obs: space.sample(key), 64)
    print(f"PPO with a shared-torso actor-critic, {config.total_timesteps} steps: greedy "
          f"return {float(trained.mean_return):.1f} (random policy "
          f"{float(uniform.mean_return):.1f}, maximum 500)")
    return {"mean_return": float(trained.mean_return),
            "random_return": float(uniform.mean_return)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, small sizes")
    main(quick=parser.parse_args().quick)
