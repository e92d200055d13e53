"""Network compression: the three QIANets techniques, structured pruning, and cost measurement.

=====================================  ===============================================================
:mod:`~qcodec.netcompress.qaoa_pruning`  QAOA-inspired pruning of weights (softmax importance, threshold,
                                       neighbour "entanglement", stages) on any ``nn.Module`` or tensor dict
:mod:`~qcodec.netcompress.structured`    the same rule on whole channels, channel removal, torch
                                       magnitude-pruning baselines
:mod:`~qcodec.netcompress.low_rank`      truncated SVD of conv weights; low-rank convs run as two convs
:mod:`~qcodec.netcompress.annealing`     annealing-inspired ``W ~ W1 W2`` by L-BFGS with a decaying step
:mod:`~qcodec.netcompress.flops`         parameters, non-zeros, FLOPs, bytes on disk
:mod:`~qcodec.netcompress.latency`       round-robin median CPU latency
=====================================  ===============================================================
"""

from qcodec.netcompress.annealing import Factorization, anneal_factorize, svd_relative_error
from qcodec.netcompress.flops import FlopCount, ParamCount, count_flops, count_params, dense_state_bytes, sparse_state_bytes
from qcodec.netcompress.latency import LatencyStats, measure_latency
from qcodec.netcompress.low_rank import (
    FactorReport,
    LowRankConv2d,
    factorize_convs_,
    low_rank_conv_weight,
    low_rank_reconstruct_,
    truncated_svd,
)
from qcodec.netcompress.qaoa_pruning import (
    Masks,
    apply_masks_,
    mask_sparsity,
    prunable_weights,
    qaoa_prune_,
    qaoa_prune_tensor,
    qaoa_select,
    retain_probabilities,
)
from qcodec.netcompress.structured import (
    channel_masks,
    magnitude_channel_prune_,
    qaoa_channel_prune_,
    remove_channels_,
    remove_pruning_reparametrization_,
)

__all__ = [
    "FactorReport",
    "Factorization",
    "FlopCount",
    "LatencyStats",
    "LowRankConv2d",
    "Masks",
    "ParamCount",
    "anneal_factorize",
    "apply_masks_",
    "channel_masks",
    "count_flops",
    "count_params",
    "dense_state_bytes",
    "factorize_convs_",
    "low_rank_conv_weight",
    "low_rank_reconstruct_",
    "magnitude_channel_prune_",
    "mask_sparsity",
    "measure_latency",
    "prunable_weights",
    "qaoa_channel_prune_",
    "qaoa_prune_",
    "qaoa_prune_tensor",
    "qaoa_select",
    "remove_channels_",
    "remove_pruning_reparametrization_",
    "retain_probabilities",
    "sparse_state_bytes",
    "svd_relative_error",
    "truncated_svd",
]
