"""jaxphys.nn: neural-network layers and architectures (flax.linen modules).

Activations and initialisers by name; MLP with dropout and batch/layer
normalisation; convolutions, pooling, LeNet-5, Inception block, U-Net;
recurrent cells (RNN, LSTM, GRU) scanned over time; a decoder-only
transformer with KV-cached generation; Deep Sets and E(n)-equivariant graph
networks; Kolmogorov–Arnold networks with grid extension, pruning and symbolic
extraction; gradient-norm diagnostics; width and depth sweeps (universal approximation).
"""

from ._activations import (activation_names, elu, gelu, gelu_exact, get_activation, leaky_relu,
                           log_softmax, relu, selu, sigmoid, silu, softmax, softplus, tanh)
from ._conv import CNN, Conv2D, InceptionBlock, LeNet5, UNet, avg_pool, flatten, max_pool
from ._diagnostics import gradient_norms, layer_norms
from ._equivariant import EGNN, DeepSets, EGNNLayer, EGNNOutput, PermEquivariant, set_pool
from ._expressiveness import (SweepResult, depth_sweep, fit_mlp_seeds, mlp_param_count,
                              width_for_budget, width_sweep)
from ._initializers import (get_initializer, glorot_normal, glorot_uniform, he_normal,
                            he_uniform, initializer_names, lecun_normal, lecun_uniform, ones,
                            orthogonal, zeros)
from ._kan import (KAN, SYMBOLIC_LIBRARY, KANLayerSpec, LayerActivations, LBFGSResult, Pruned,
                   SymbolicFit, auto_symbolic, bspline_basis, check_in_range, edge_importance,
                   fit_symbolic_edge, fix_symbolic, kan_activations, prune, refine_grid,
                   sparsity_penalty, suggest_symbolic, symbolic_formula, train_lbfgs)
from ._mlp import MLP, Normalization
from ._recurrent import GRUCell, LSTMCell, LSTMState, Recurrent, RecurrentOutput, SimpleRNNCell
from ._transformer import (CachedOutput, CausalLM, DecodeOutput, KVCache, LayerKV,
                           LearnedPositionalEncoding, MultiHeadAttention,
                           SinusoidalPositionalEncoding, TokenEmbedding, TransformerBlock,
                           attention_weights, causal_mask, generate, padding_mask, sample_logits,
                           scaled_dot_product_attention, sinusoidal_positions)

__all__ = [
    # activations
    "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "gelu_exact", "silu",
    "softplus", "softmax", "log_softmax", "get_activation", "activation_names",
    # initialisers
    "get_initializer", "initializer_names", "glorot_uniform", "glorot_normal", "he_uniform",
    "he_normal", "lecun_uniform", "lecun_normal", "orthogonal", "zeros", "ones",
    # architectures
    "MLP", "Normalization", "Conv2D", "max_pool", "avg_pool", "flatten", "CNN", "LeNet5",
    "InceptionBlock", "UNet",
    # recurrent
    "SimpleRNNCell", "LSTMCell", "GRUCell", "LSTMState", "Recurrent", "RecurrentOutput",
    # transformer
    "scaled_dot_product_attention", "attention_weights", "causal_mask", "padding_mask",
    "MultiHeadAttention", "TransformerBlock", "TokenEmbedding", "SinusoidalPositionalEncoding",
    "LearnedPositionalEncoding", "sinusoidal_positions", "CausalLM", "KVCache", "LayerKV",
    "CachedOutput", "DecodeOutput", "generate", "sample_logits",
    # Kolmogorov–Arnold networks
    "KAN", "KANLayerSpec", "bspline_basis", "check_in_range", "refine_grid", "edge_importance",
    "sparsity_penalty", "Pruned", "prune", "SYMBOLIC_LIBRARY", "SymbolicFit", "fit_symbolic_edge",
    "suggest_symbolic", "fix_symbolic", "auto_symbolic", "symbolic_formula", "LayerActivations",
    "kan_activations", "LBFGSResult", "train_lbfgs",
    # equivariant and invariant networks
    "DeepSets", "PermEquivariant", "set_pool", "EGNN", "EGNNLayer", "EGNNOutput",
    # diagnostics and sweeps
    "gradient_norms", "layer_norms", "SweepResult", "width_sweep", "depth_sweep",
    "fit_mlp_seeds", "mlp_param_count", "width_for_budget",
]
