"""Doctests in ``jaxphys/`` run with the same strict numerics as ``tests/``."""

import jax

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_debug_key_reuse", True)
