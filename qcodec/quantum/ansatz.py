"""Circuit builders for the quINR ansatz (Fujihashi & Koike-Akino, AAAI 2025).

quINR maps an embedding vector ``h (M,)`` (from a sine-activated linear layer) through
``L`` QNN layers on ``N_q`` qubits, each = folded-angle embedding of ``h`` followed by a
Sim et al. entangling layer, and reads out the ``2**N_q`` basis-state probabilities.

>>> c = quinr_circuit(n_qubits=4, n_layers=2, embed_size=12)
>>> c.n_params, c.n_inputs
(44, 12)
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations, permutations

from qcodec.quantum.circuit import Circuit, Input


def folded_angle_embedding(
    circuit: Circuit,
    features: Sequence[int],
    wires: Sequence[int] | None = None,
    rotations: Sequence[str] = ("X", "Z"),
) -> Circuit:
    """Pack ``len(features)`` input values into ``len(wires)`` qubits with alternating rotations.

    Value ``k`` (input index ``features[k]``) goes to wire ``wires[k % n_w]`` in fold
    ``f = k // n_w``, rotated about axis ``rotations[f % len(rotations)]`` (default:
    fold 0 ``RX``, fold 1 ``RZ``, fold 2 ``RX``, ...). Folds are applied one after the
    other; a last partial fold covers only the first wires. E.g. 12 values on 4 qubits
    = 3 folds (``RX``, ``RZ``, ``RX`` on every wire), the paper's Fig. 2(a).

    Args:
        circuit: circuit to append to (modified and returned).
        features: input indices ``(M,)`` to encode, in slot order.
        wires: wires to use (default: all of the circuit's wires).
        rotations: axes cycled over folds.
    """
    ws = list(range(circuit.n_qubits)) if wires is None else list(wires)
    if not ws:
        raise ValueError("folded_angle_embedding needs at least one wire")
    axes = [r.upper() for r in rotations]
    if not axes or any(a not in ("X", "Y", "Z") for a in axes):
        raise ValueError(f"rotations must be a non-empty sequence of 'X', 'Y', 'Z'; got {rotations!r}")
    for k, f in enumerate(features):
        fold, j = divmod(k, len(ws))
        circuit.add("R" + axes[fold % len(axes)], ws[j], Input(int(f)))
    return circuit


def sim_entangling_layer(circuit: Circuit, wires: Sequence[int] | None = None, pairs: str = "combinations") -> Circuit:
    """Sim et al.-style entangling layer with fresh trainable parameters.

    ``RZ`` then ``RX`` on every wire, ``CRZ`` on every pair (``pairs="combinations"``:
    control ``i`` < target ``j``, ``n(n-1)/2`` gates; ``"permutations"``: every ordered
    pair, ``n(n-1)`` gates as in Sim et al.'s circuit 5), then ``RZ`` and ``RX`` on every
    wire. Uses ``4 n + n(n-1)/2`` (or ``4 n + n(n-1)``) parameters.
    """
    ws = list(range(circuit.n_qubits)) if wires is None else list(wires)
    if pairs == "combinations":
        pair_list = list(combinations(ws, 2))
    elif pairs == "permutations":
        pair_list = list(permutations(ws, 2))
    else:
        raise ValueError(f"pairs must be 'combinations' or 'permutations', got {pairs!r}")
    for w in ws:
        circuit.rz(w).rx(w)
    for c, t in pair_list:
        circuit.crz(c, t)
    for w in ws:
        circuit.rz(w).rx(w)
    return circuit


def reupload_order(embed_size: int, layer: int, shuffle: bool = True) -> list[int]:
    """Input indices encoded by QNN layer ``layer`` (slot ``s`` gets ``h[order[s]]``).

    Shuffled data re-uploading uses a fixed, seed-free permutation per layer: a cyclic
    shift by the layer index, ``order[s] = (s + layer) % embed_size``. Layer 0 uses the
    identity; each later layer moves every value to the next slot (the next wire of the
    same fold), so each value meets different wires and rotation axes across layers.
    With ``shuffle=False`` every layer uses the identity order.
    """
    if embed_size < 1:
        raise ValueError(f"embed_size must be positive, got {embed_size}")
    shift = layer % embed_size if shuffle else 0
    return [(s + shift) % embed_size for s in range(embed_size)]


def quinr_circuit(
    n_qubits: int,
    n_layers: int,
    embed_size: int,
    *,
    shuffle: bool = True,
    n_entangling: int = 1,
    pairs: str = "combinations",
    rotations: Sequence[str] = ("X", "Z"),
) -> Circuit:
    """The quINR QNN: ``n_layers`` x (folded-angle embedding + ``n_entangling`` Sim layers).

    Inputs are the embedding vector ``h (embed_size,)``; layer ``l`` re-uploads it in the
    order :func:`reupload_order` ``(embed_size, l, shuffle)``. Measure with
    ``Probs()`` to get the ``2**n_qubits`` basis-state probabilities of the paper.

    Args:
        n_qubits: ``N_q``.
        n_layers: number of embedding + entangling layers.
        embed_size: ``M``, the length of ``h`` (``ceil(M / N_q)`` folds per embedding).
        shuffle: shuffled data re-uploading (cyclic shift by layer index).
        n_entangling: Sim entangling layers after each embedding.
        pairs: CRZ pairs, see :func:`sim_entangling_layer`.
        rotations: fold axes, see :func:`folded_angle_embedding`.

    Returns:
        A circuit with ``n_inputs == embed_size`` and
        ``n_params == n_layers * n_entangling * (4 N_q + N_q (N_q - 1) / 2)`` (combinations).
    """
    if n_layers < 1 or n_entangling < 1:
        raise ValueError("n_layers and n_entangling must be at least 1")
    circuit = Circuit(n_qubits)
    for layer in range(n_layers):
        folded_angle_embedding(circuit, reupload_order(embed_size, layer, shuffle), rotations=rotations)
        for _ in range(n_entangling):
            sim_entangling_layer(circuit, pairs=pairs)
    return circuit
