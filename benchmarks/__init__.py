"""Side-by-side benchmarks of jaxphys against the peer a user would otherwise pick.

Run ``python -m benchmarks [--only NAME] [--quick] [--out DIR]`` from a repository
checkout (or ``jaxphys bench``). Results go to ``results.json`` and
``results.md`` in the output folder (default ``benchmarks/results``).

Every benchmark reports compile time apart from steady-state time, blocks on
its outputs (``block_until_ready``) before reading the clock, and compares with
its peer in the same run, as a ratio.
"""

from ._runner import REGISTRY, BenchResult, Context, Figure, register, run
from ._timing import Timing, block, time_first_call, time_fn

# Registration order is run order: the matmul peak first, since later benchmarks
# report their FLOP/s as a fraction of it.
from . import matmul_peak as _matmul_peak  # noqa: E402,F401  (registers "matmul_peak")
from . import mlp_train_step as _mlp_train_step  # noqa: E402,F401  (registers "mlp_train_step")
from . import cnn_train_step as _cnn_train_step  # noqa: E402,F401  (registers "cnn_train_step")
from . import transformer_generation as _transformer_generation  # noqa: E402,F401
from . import kan_forward_backward as _kan_forward_backward  # noqa: E402,F401
from . import classical_pca_tsne as _classical_pca_tsne  # noqa: E402,F401
from . import classical_forest as _classical_forest  # noqa: E402,F401

__all__ = ["REGISTRY", "BenchResult", "Context", "Figure", "Timing", "block", "register", "run",
           "time_first_call", "time_fn"]
from . import classical_boosting as _classical_boosting  # noqa: E402,F401
from . import ising_mc as _ising_mc  # noqa: E402,F401
from . import pinn_train_step as _pinn_train_step  # noqa: E402,F401
from . import rl_cartpole as _rl_cartpole  # noqa: E402,F401
from . import rl_ppo as _rl_ppo  # noqa: E402,F401
from . import flow_spline as _flow_spline  # noqa: E402,F401
from . import fitting_toys as _fitting_toys  # noqa: E402,F401
