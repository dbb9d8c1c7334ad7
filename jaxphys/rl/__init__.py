"""Reinforcement learning on pure, batched environments.

An algorithm is ``make_<name>(env, env_params, config) -> train(key)``: the whole
run is one jittable function, so ``jax.vmap(train)(keys)`` trains many seeds at
once, and sweepable config values (learning rate, γ, entropy coefficient) may be
arrays that one vmaps over. ``train.policy(params)`` (or the agent's policy helper)
gives ``policy(key, obs) -> action`` for :func:`evaluate`.

* Environments: :mod:`jaxphys.rl.envs`.
* Tabular: :func:`policy_evaluation`, :func:`value_iteration`,
  :func:`q_value_iteration` (Bellman, with availability masks),
  :func:`make_td0_train`, :func:`make_q_learning_train` (ε-greedy or the exploration
  function Q + κ/(1 + N), learning-rate decay), the sparse-reward curriculum
  :func:`make_curriculum_train`.
* Deep: :func:`make_dqn` (double DQN, target network, replay ring buffer),
  :func:`make_reinforce`, :func:`make_a2c`, :func:`make_ppo`, :func:`make_trpo`,
  :func:`make_sac` (continuous actions).
* Planning: :func:`mcts_search`, :func:`mcts_episode` (UCT with rollouts or a value).
* :func:`evaluate`: mean return over episodes, in one jit.
"""

from jaxphys.rl import envs
from jaxphys.rl._a2c import A2CConfig, A2CResult
from jaxphys.rl._a2c import make_train as make_a2c
from jaxphys.rl._curriculum import (SPARSE_MAZE, CurriculumResult, curriculum_starts,
                                    make_curriculum_train, plain_starts, sparse_maze)
from jaxphys.rl._dqn import (DQNConfig, DQNHyperparams, DQNResult, dqn_greedy_policy, dqn_target,
                             epsilon_schedule, q_network)
from jaxphys.rl._dqn import make_train as make_dqn
from jaxphys.rl._evaluate import EvalResult, evaluate
from jaxphys.rl._mcts import (MCTSConfig, MCTSEpisode, MCTSSearch, MCTSTree, mcts_episode,
                              mcts_search)
from jaxphys.rl._policy_gradient import (ActorCritic, ActorCriticParams, RunnerState, Trajectory,
                                         actor_critic_policy, gae, make_actor_critic, rollout)
from jaxphys.rl._ppo import PPOConfig, PPOResult
from jaxphys.rl._ppo import make_train as make_ppo
from jaxphys.rl._reinforce import ReinforceConfig, ReinforceResult, returns_to_go
from jaxphys.rl._reinforce import make_train as make_reinforce
from jaxphys.rl._replay import (ReplayBuffer, replay_add, replay_add_batch, replay_init,
                                replay_sample)
from jaxphys.rl._sac import SACConfig, SACParams, SACResult, tanh_gaussian_sample
from jaxphys.rl._sac import make_train as make_sac
from jaxphys.rl._tabular import (PlanningResult, PolicyEvaluationResult, bellman_q, greedy_action,
                                 policy_evaluation, q_value_iteration, uniform_policy,
                                 value_iteration)
from jaxphys.rl._tabular_learning import (QLearningConfig, QLearningResult, TD0Config, TD0Result,
                                          greedy_policy, make_q_learning_train, make_td0_train,
                                          random_argmax, success_rate)
from jaxphys.rl._trpo import TRPOConfig, TRPOResult, conjugate_gradient
from jaxphys.rl._trpo import make_train as make_trpo

__all__ = [
    "envs", "evaluate", "EvalResult",
    "PlanningResult", "PolicyEvaluationResult", "bellman_q", "policy_evaluation",
    "value_iteration", "q_value_iteration", "greedy_action", "uniform_policy",
    "QLearningConfig", "QLearningResult", "TD0Config", "TD0Result", "make_q_learning_train",
    "make_td0_train", "greedy_policy", "random_argmax", "success_rate",
    "SPARSE_MAZE", "sparse_maze", "CurriculumResult", "curriculum_starts", "plain_starts",
    "make_curriculum_train",
    "DQNConfig", "DQNHyperparams", "DQNResult", "make_dqn", "q_network", "dqn_greedy_policy",
    "dqn_target", "epsilon_schedule",
    "ReplayBuffer", "replay_init", "replay_add", "replay_add_batch", "replay_sample",
    "ActorCritic", "ActorCriticParams", "make_actor_critic", "RunnerState", "Trajectory",
    "rollout", "gae", "actor_critic_policy",
    "ReinforceConfig", "ReinforceResult", "make_reinforce", "returns_to_go",
    "A2CConfig", "A2CResult", "make_a2c",
    "PPOConfig", "PPOResult", "make_ppo",
    "TRPOConfig", "TRPOResult", "make_trpo", "conjugate_gradient",
    "SACConfig", "SACParams", "SACResult", "make_sac", "tanh_gaussian_sample",
    "MCTSConfig", "MCTSTree", "MCTSSearch", "MCTSEpisode", "mcts_search", "mcts_episode",
]
