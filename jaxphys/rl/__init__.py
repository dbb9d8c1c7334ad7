"""Reinforcement learning on pure, batched environments: one agent contract.

Every agent is built one way (the agent contract of the documentation's contracts page)::

    agent = make_ppo(env, env_params, PPOConfig(...), network=None)   # -> Agent
    result = agent.train(key, agent.default_hparams._replace(learning_rate=1e-3))
    act = agent.policy(result.state.params)            # act(key, obs) -> action

``config`` (a frozen dataclass) holds the static sizes; ``hparams`` (a NamedTuple of
float32 arrays) every float one may sweep, so ``jax.vmap(agent.train)(keys, hparams)``
trains many seeds and settings in one compiled call (``in_axes=(0, sweep_axes(hparams,
"learning_rate"))``). ``agent.init`` /
``agent.train_from`` train on from any state, and a state saved with
:func:`jaxphys.core.save_checkpoint` resumes exactly. ``network=`` takes the user's
flax module or :class:`jaxphys.core.Model` (output contract per head: :class:`ActorCritic`,
:func:`policy_network`, :func:`q_network`). All agents collect experience with the one
:func:`rollout`, keep episode statistics with :func:`episode_metrics`, and the replay
agents share one :class:`ReplayBuffer` of :class:`Transition` s.

* Environments: :mod:`jaxphys.rl.envs`.
* Deep agents: :func:`make_dqn`, :func:`make_reinforce`, :func:`make_a2c`,
  :func:`make_ppo`, :func:`make_trpo`, :func:`make_sac`.
* Tabular agents: :func:`make_q_learning`, :func:`make_td0`, the sparse-reward
  curriculum :func:`make_curriculum`; planning by dynamic programming
  (:func:`value_iteration`, :func:`q_value_iteration`, :func:`policy_evaluation`) and
  UCT (:func:`mcts_search`, :func:`mcts_episode`).
* :func:`evaluate`: mean return over episodes, in one jit.
"""

from jaxphys.rl import envs
from jaxphys.rl._a2c import A2CConfig, A2CHyperparams, make_a2c
from jaxphys.rl._agent import NO_DATA, Agent, AgentResult, HyperparamSpec, sweep_axes
from jaxphys.rl._curriculum import (SPARSE_MAZE, CurriculumConfig, CurriculumHyperparams,
                                    CurriculumState, curriculum_starts, make_curriculum,
                                    plain_starts, sparse_maze)
from jaxphys.rl._dqn import (DQNConfig, DQNHyperparams, DQNState, dqn_target, epsilon_greedy,
                             epsilon_schedule, make_dqn)
from jaxphys.rl._evaluate import EvalResult, evaluate
from jaxphys.rl._lattice_policy import PeriodicConv, PeriodicConvActorCritic
from jaxphys.rl._mcts import (MCTSConfig, MCTSEpisode, MCTSSearch, MCTSTree, mcts_episode,
                              mcts_search)
from jaxphys.rl._networks import (ActorCritic, ActorCriticParams, PolicyNetwork, policy_network,
                                  q_network)
from jaxphys.rl._onpolicy import OnPolicyState, gae
from jaxphys.rl._ppo import PPOConfig, PPOHyperparams, make_ppo
from jaxphys.rl._reinforce import (ReinforceConfig, ReinforceHyperparams, make_reinforce,
                                   returns_to_go)
from jaxphys.rl._replay import (ReplayBuffer, replay_add, replay_add_batch, replay_init,
                                replay_sample)
from jaxphys.rl._rollout import (ActOutput, RunnerState, Trajectory, Transition,
                                 episode_metrics, forward_fill, init_runner, rollout,
                                 transitions)
from jaxphys.rl._sac import SACConfig, SACHyperparams, SACParams, SACState, make_sac
from jaxphys.rl._sac_networks import soft_q_target, tanh_gaussian_sample
from jaxphys.rl._tabular import (PlanningResult, PolicyEvaluationResult, bellman_q, greedy_action,
                                 policy_evaluation, q_value_iteration, uniform_policy,
                                 value_iteration)
from jaxphys.rl._tabular_learning import (QLearningConfig, QLearningHyperparams, TabularState,
                                          evaluations, greedy_policy, make_q_learning,
                                          random_argmax)
from jaxphys.rl._td0 import TD0Config, TD0Hyperparams, make_td0
from jaxphys.rl._trpo import TRPOConfig, TRPOHyperparams, TRPOState, conjugate_gradient, make_trpo

__all__ = [
    "envs", "evaluate", "EvalResult",
    # the agent contract and its shared machinery
    "Agent", "AgentResult", "HyperparamSpec", "sweep_axes", "NO_DATA", "ActorCritic", "ActorCriticParams",
    "PolicyNetwork", "policy_network", "q_network", "PeriodicConvActorCritic", "PeriodicConv", "RunnerState",
    "Trajectory", "Transition",
    "ActOutput", "init_runner", "rollout", "episode_metrics", "forward_fill", "transitions",
    "ReplayBuffer", "replay_init", "replay_add", "replay_add_batch", "replay_sample",
    # deep agents
    "DQNConfig", "DQNHyperparams", "DQNState", "make_dqn", "dqn_target", "epsilon_schedule",
    "epsilon_greedy",
    "OnPolicyState", "gae",
    "ReinforceConfig", "ReinforceHyperparams", "make_reinforce", "returns_to_go",
    "A2CConfig", "A2CHyperparams", "make_a2c",
    "PPOConfig", "PPOHyperparams", "make_ppo",
    "TRPOConfig", "TRPOHyperparams", "TRPOState", "make_trpo", "conjugate_gradient",
    "SACConfig", "SACHyperparams", "SACParams", "SACState", "make_sac", "tanh_gaussian_sample",
    "soft_q_target",
    # tabular
    "PlanningResult", "PolicyEvaluationResult", "bellman_q", "policy_evaluation",
    "value_iteration", "q_value_iteration", "greedy_action", "uniform_policy",
    "QLearningConfig", "QLearningHyperparams", "TabularState", "TD0Config", "TD0Hyperparams",
    "make_q_learning", "make_td0", "greedy_policy", "random_argmax", "evaluations",
    "SPARSE_MAZE", "sparse_maze", "CurriculumConfig", "CurriculumHyperparams",
    "CurriculumState", "curriculum_starts", "plain_starts", "make_curriculum",
    # planning
    "MCTSConfig", "MCTSTree", "MCTSSearch", "MCTSEpisode", "mcts_search", "mcts_episode",
]
