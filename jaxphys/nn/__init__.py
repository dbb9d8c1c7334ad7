"""jaxphys.nn: neural-network layers and architectures (flax.linen modules).

Activations and initialisers by name; MLP with dropout and batch/layer
normalisation; convolutions, pooling, LeNet-5, Inception block, U-Net;
recurrent cells (RNN, LSTM, GRU) scanned over time; a decoder-only
transformer with KV-cached generation; Deep Sets and E(n)-equivariant graph
networks; Kolmogorov–Arnold networks with grid extension, pruning and symbolic
extraction; gradient-norm diagnostics. Width and depth sweeps (universal
approximation) are in :mod:`jaxphys.dynamics`.
"""

from ._activations import (activation_names, elu, gelu, gelu_exact, get_activation, leaky_relu,
                           log_softmax, relu, selu, sigmoid, silu, softmax, softplus, tanh)
from ._attention import (CachedOutput, LayerKV, MultiHeadAttention, TransformerBlock,
                         attention_weights, causal_mask, padding_mask,
                         scaled_dot_product_attention)
from ._conv import CNN, Conv2D, ConvTranspose2D, LeNet5
from ._diagnostics import gradient_norms, layer_norms
from ._embeddings import (LearnedPositionalEncoding, SinusoidalPositionalEncoding,
                          TokenEmbedding, sinusoidal_positions)
from ._equivariant import EGNN, DeepSets, EGNNLayer, EGNNOutput, PermEquivariant, set_pool
from ._initializers import (get_initializer, glorot_normal, glorot_uniform, he_normal,
                            he_uniform, initializer_names, lecun_normal, lecun_uniform, ones,
                            orthogonal, zeros)
from ._kan import (KAN, SYMBOLIC_LIBRARY, KANLayerSpec, LayerActivations, check_in_range,
                   kan_activations)
from ._kan_basis import bspline_basis
from ._kan_grid import Pruned, edge_importance, prune, refine_grid, sparsity_penalty
from ._kan_symbolic import (SymbolicFit, auto_symbolic, fit_symbolic_edge, fix_symbolic,
                            suggest_symbolic, symbolic_formula)
from ._mlp import MLP, Normalization
from ._pool import avg_pool, flatten, max_pool
from ._recurrent import GRUCell, LSTMCell, LSTMState, Recurrent, RecurrentOutput, SimpleRNNCell
from ._transformer import CausalLM, DecodeOutput, KVCache, generate, sample_logits
from ._unet import InceptionBlock, UNet

__all__ = [
    # activations
    "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "gelu_exact", "silu",
    "softplus", "softmax", "log_softmax", "get_activation", "activation_names",
    # initialisers
    "get_initializer", "initializer_names", "glorot_uniform", "glorot_normal", "he_uniform",
    "he_normal", "lecun_uniform", "lecun_normal", "orthogonal", "zeros", "ones",
    # architectures
    "MLP", "Normalization", "Conv2D", "ConvTranspose2D", "max_pool", "avg_pool", "flatten",
    "CNN", "LeNet5", "InceptionBlock", "UNet",
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
    "kan_activations",
    # equivariant and invariant networks
    "DeepSets", "PermEquivariant", "set_pool", "EGNN", "EGNNLayer", "EGNNOutput",
    # diagnostics
    "gradient_norms", "layer_norms",
]
