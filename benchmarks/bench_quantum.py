"""Forward+backward speed of the quINR circuit: qcodec's torch simulator vs PennyLane.

The circuit is :func:`qcodec.quantum.quinr_circuit` (default ``N_q = 6`` qubits, 4 data
re-uploading layers, embedding size ``M = 12`` = 2 folds of RX/RZ, one Sim entangling
layer per re-upload), measured as the probabilities of all ``2**N_q`` basis states for
a batch of 4096 samples. One step = forward, loss ``sum(probs * w)``, backward to the
parameters and to the inputs (quINR needs both). Both backends run in this process;
each is warmed up, then timed repeatedly (interleaved round by round) and the median
is reported. PennyLane uses ``default.qubit`` with ``diff_method="backprop"``, the
torch interface and parameter broadcasting over the batch.

With ``--tiles P`` it measures the circuit of the tiled quINR (``qcodec encode --model quinr``,
4 qubits, 4 layers, embedding 8 by default), one parameter vector per tile: ours runs every
tile in one call with ``params (P, n_params)``; PennyLane gets one broadcast call in which
every sample carries its tile's parameters (``(n_params, batch)`` angles).

Usage::

    python benchmarks/bench_quantum.py [--qubits 6 --layers 4 --embed 12 --batch 4096 --threads 0]
    python benchmarks/bench_quantum.py --qubits 4 --layers 4 --embed 8 --tiles 16

The last line is ``speedup_vs_pennylane: X``: PennyLane's median wall time over the
torch complex64 simulator's (the line before gives the same ratio in process CPU time).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from qcodec.quantum import Probs, TorchSimulator, quinr_circuit
from qcodec.quantum.pennylane_backend import PennyLaneSimulator, make_qnode


def make_step(run: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], params: torch.Tensor,
              inputs: torch.Tensor) -> Callable[[], tuple[float, float]]:
    """A timed forward+backward step (gradients w.r.t. params and inputs).

    Returns (wall seconds, process CPU seconds); CPU time is less sensitive to other
    processes competing for the cores.
    """
    weights = torch.rand(inputs.shape[0], 1, generator=torch.Generator().manual_seed(0), dtype=inputs.dtype)

    def step() -> tuple[float, float]:
        p = params.detach().requires_grad_(True)
        x = inputs.detach().requires_grad_(True)
        start, cpu = time.perf_counter(), time.process_time()
        out = run(p, x)
        (out * weights.to(out.dtype).view(-1, *[1] * (out.dim() - 1))).sum().backward()
        return time.perf_counter() - start, time.process_time() - cpu

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, default=6)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--embed", type=int, default=12)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--pl-repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--tiles", type=int, default=0, help="per-tile parameters for this many tiles (the tiled variant)")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    circuit = quinr_circuit(args.qubits, args.layers, args.embed)
    gen = torch.Generator().manual_seed(0)
    params = torch.rand(circuit.n_params, generator=gen) * 6.28
    inputs = torch.rand(args.batch, args.embed, generator=gen) * 2 - 1

    if args.tiles:
        tiles = args.tiles
        if args.batch % tiles:
            parser.error("--batch must be a multiple of --tiles")
        params = torch.rand(tiles, circuit.n_params, generator=gen) * 6.28
        per_tile = inputs.reshape(-1, tiles, args.embed)  # (batch / P, P, M): sample i in tile i % P
        qnode = make_qnode(circuit, Probs(), "default.qubit", diff_method="backprop")

        def ours(p: torch.Tensor, x: torch.Tensor, sim: TorchSimulator = TorchSimulator(circuit, Probs())) -> torch.Tensor:
            return sim(p, x)

        def pennylane(p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            flat = x.reshape(-1, args.embed)
            out = qnode(p.repeat(flat.shape[0] // tiles, 1).T, flat)  # every sample carries its tile's angles
            return out.reshape(*x.shape[:2], -1)

        steps = {
            "torch complex64, per-tile": make_step(ours, params, per_tile),
            "pennylane default.qubit": make_step(pennylane, params, per_tile),
        }
    else:
        steps = {
            "torch complex64 (fused)": make_step(TorchSimulator(circuit, Probs()), params, inputs),
            "torch complex128 (fused)": make_step(TorchSimulator(circuit, Probs()), params.double(), inputs.double()),
            "torch complex64 (unfused)": make_step(TorchSimulator(circuit, Probs(), fuse=False), params, inputs),
            "pennylane default.qubit": make_step(
                PennyLaneSimulator(circuit, Probs(), "default.qubit", diff_method="backprop"), params, inputs),
        }
    for step in steps.values():  # warm-up
        step()
        step()
    # Interleave the backends round by round so that load from other processes on the
    # machine affects all of them alike; report per-backend medians.
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in steps}
    per_round = max(1, args.repeats // args.pl_repeats)
    for _ in range(args.pl_repeats):
        for label, step in steps.items():
            for _ in range(1 if label.startswith("pennylane") else per_round):
                times[label].append(step())
    rows = list(times.items())

    print(f"quINR circuit: {args.qubits} qubits, {args.layers} layers, embed {args.embed}, "
          f"{circuit.n_params} params, {len(circuit.ops)} gates; batch {args.batch}; tiles {args.tiles or 1}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'backend':<28}{'median ms':>11}{'min ms':>9}{'cpu ms':>9}{'runs':>6}")
    for label, ts in rows:
        wall, cpu = [t[0] for t in ts], [t[1] for t in ts]
        print(f"{label:<28}{1e3 * statistics.median(wall):>11.1f}{1e3 * min(wall):>9.1f}"
              f"{1e3 * statistics.median(cpu):>9.1f}{len(ts):>6}")
    ours, ref = rows[0][1], times["pennylane default.qubit"]
    cpu_ratio = statistics.median(t[1] for t in ref) / statistics.median(t[1] for t in ours)
    print(f"speedup in process CPU time: {cpu_ratio:.1f}")
    speedup = statistics.median(t[0] for t in ref) / statistics.median(t[0] for t in ours)
    print(f"speedup_vs_pennylane: {speedup:.1f}")


if __name__ == "__main__":
    main()
