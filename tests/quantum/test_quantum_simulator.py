"""Torch state-vector simulator vs PennyLane default.qubit, plus analytic checks."""

from __future__ import annotations

import math
import random

import pennylane as qml
import pytest
import torch

from qcodec.quantum import (
    GATES,
    Circuit,
    Const,
    Expval,
    Input,
    Param,
    Probs,
    State,
    TorchSimulator,
    fidelity,
    gate_matrix,
    quinr_circuit,
)
from qcodec.quantum.ansatz import reupload_order
from qcodec.quantum.pennylane_backend import PennyLaneSimulator, make_qnode

TOL = 1e-5
F64 = torch.float64


def _rand(*shape, seed=0, grad=True):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g, dtype=F64) * 4 - 2).requires_grad_(grad)


def _scalarize(out: torch.Tensor, seed: int = 1) -> torch.Tensor:
    """A generic real scalar of a (possibly complex) output, for gradient checks."""
    if out.is_complex():
        out = torch.view_as_real(out)
    w = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=out.dtype)
    return (out * w).sum()


def _compare(circuit, measurement, params, inputs, initial_state=None, fuse=None, grads=True):
    """Assert outputs (and gradients w.r.t. params/inputs) agree with PennyLane."""
    ours = TorchSimulator(circuit, measurement, fuse=fuse)(params, inputs, initial_state)
    ref = PennyLaneSimulator(circuit, measurement)(params, inputs, initial_state)
    assert ours.shape == ref.shape
    torch.testing.assert_close(ours, ref.to(ours.dtype), atol=TOL, rtol=0)
    if not grads:
        return
    leaves = [t for t in (params, inputs) if t is not None and t.requires_grad]
    g_ours = torch.autograd.grad(_scalarize(ours), leaves, allow_unused=True)
    g_ref = torch.autograd.grad(_scalarize(ref.to(ours.dtype)), leaves, allow_unused=True)
    for a, b in zip(g_ours, g_ref):
        if a is None or b is None:
            assert (a is None or a.abs().max() < TOL) and (b is None or b.abs().max() < TOL)
        else:
            torch.testing.assert_close(a, b, atol=TOL, rtol=0)


def _mixing_layer(c: Circuit, n: int) -> None:
    for w in range(n):
        c.rot(w)
    for w in range(n - 1):
        c.cnot(w, w + 1)


# ------------------------------------------------------------- gate table
def _gate_cases():
    for name, spec in sorted(GATES.items()):
        sources = ["param", "input", "const"] if spec.n_angles else ["none"]
        for src in sources:
            yield pytest.param(name, src, id=f"{name}-{src}")


@pytest.mark.parametrize("name,source", list(_gate_cases()))
def test_gate_against_pennylane(name, source):
    spec = GATES[name]
    n = 3
    wires = [2, 0][: spec.n_wires] if spec.n_wires == 2 else [1]
    c = Circuit(n)
    _mixing_layer(c, n)
    angles = []
    for k in range(spec.n_angles):
        angles.append({"param": c.param(), "input": Input(k, scale=0.7), "const": Const(0.3 + k)}[source])
    c.add(name, wires, *angles)
    _mixing_layer(c, n)
    params = _rand(c.n_params, seed=1)
    inputs = _rand(4, c.n_inputs, seed=2)
    for meas in (State(), Probs(), Expval("XYZ", wires=[0, 1, 2])):
        _compare(c, meas, params, inputs)


@pytest.mark.parametrize("name", sorted(GATES))
def test_gate_matrix_matches_pennylane(name):
    spec = GATES[name]
    angles = [0.3 + 0.4 * k for k in range(spec.n_angles)]
    ours = gate_matrix(name, [torch.tensor(a, dtype=F64) for a in angles])
    ref = qml.matrix(getattr(qml, name)(*angles, wires=list(range(spec.n_wires))))
    torch.testing.assert_close(ours, torch.as_tensor(ref, dtype=torch.complex128), atol=1e-12, rtol=0)


# ------------------------------------------------------------- random circuits
def _random_circuit(n: int, n_ops: int, n_inputs: int, seed: int, amplitude: bool = False) -> Circuit:
    rng = random.Random(seed)
    c = Circuit(n)
    if amplitude:
        c.amplitude_embedding(range(3), wires=[1, 0], pad_with=0.5)
    names = sorted(GATES)
    for _ in range(n_ops):
        name = rng.choice(names)
        spec = GATES[name]
        wires = rng.sample(range(n), spec.n_wires)
        angles = []
        for _ in range(spec.n_angles):
            r = rng.random()
            if r < 0.4:
                angles.append(Param(rng.randrange(6), scale=rng.choice([1.0, -0.5])))
            elif r < 0.85:
                angles.append(Input(rng.randrange(n_inputs), scale=rng.choice([1.0, 2.0])))
            else:
                angles.append(Const(rng.uniform(-3, 3)))
        c.add(name, wires, *angles)
    c._next_param = max(c._next_param, 6)
    return c


MEASUREMENTS = [State(), Probs(), Probs(wires=[2, 0]), Expval("Z"), Expval(("X", "Y", "Z", "Y"), wires=[3, 1, 0, 2])]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fuse", [True, False, None])
def test_random_circuit_against_pennylane(seed, fuse):
    c = _random_circuit(4, 30, 5, seed)
    params = _rand(c.n_params, seed=seed + 10)
    inputs = _rand(3, 5, seed=seed + 20)
    for meas in MEASUREMENTS:
        _compare(c, meas, params, inputs, fuse=fuse)


@pytest.mark.parametrize("seed", range(3))
def test_random_circuit_with_amplitude_embedding(seed):
    c = _random_circuit(4, 20, 5, seed, amplitude=True)
    inputs = _rand(3, 5, seed=seed + 20)
    _compare(c, Probs(), _rand(c.n_params, seed=seed), inputs)
    _compare(c, Expval("X"), _rand(c.n_params, seed=seed), inputs)


def test_amplitude_embeddings_on_disjoint_wires():
    c = Circuit(4).amplitude_embedding(range(4), wires=[3, 1]).amplitude_embedding([4, 5], wires=[0], normalize=True)
    c.rx(2, Input(6)).cnot(0, 2).rot(1)
    _compare(c, State(), _rand(c.n_params, seed=1), _rand(2, 7, seed=2))


def test_quinr_circuit_against_pennylane():
    c = quinr_circuit(n_qubits=4, n_layers=3, embed_size=10)
    for fuse in (True, False):
        _compare(c, Probs(), _rand(c.n_params, seed=3), _rand(5, 10, seed=4), fuse=fuse)


def test_parameter_sets_match_per_set_pennylane():
    c = _random_circuit(3, 25, 4, seed=7)
    params = _rand(2, c.n_params, seed=1)
    inputs = _rand(5, 2, 4, seed=2)
    for meas in (State(), Expval("Y")):
        for fuse in (True, False):
            ours = TorchSimulator(c, meas, fuse=fuse)(params, inputs)
            assert ours.shape[:2] == (5, 2)
            sim = PennyLaneSimulator(c, meas)
            ref = torch.stack([sim(params[p], inputs[:, p]) for p in range(2)], dim=1).to(ours.dtype)
            torch.testing.assert_close(ours, ref, atol=TOL, rtol=0)
            for a, b in zip(torch.autograd.grad(_scalarize(ours), (params, inputs)),
                            torch.autograd.grad(_scalarize(ref), (params, inputs))):
                torch.testing.assert_close(a, b, atol=TOL, rtol=0)


def test_initial_state_against_pennylane():
    c = _random_circuit(3, 20, 4, seed=3)
    psi = torch.randn(4, 8, dtype=torch.complex128, generator=torch.Generator().manual_seed(0))
    psi = psi / psi.norm(dim=-1, keepdim=True)
    _compare(c, Probs(), _rand(c.n_params, seed=1), _rand(4, 4, seed=2), initial_state=psi)


def test_batch_shapes():
    c = quinr_circuit(3, 2, 5)
    sim = TorchSimulator(c, Probs())
    p = torch.randn(c.n_params)
    assert sim(p, torch.randn(5)).shape == (8,)
    assert sim(p, torch.randn(2, 3, 5)).shape == (2, 3, 8)
    assert TorchSimulator(Circuit(2).rx(0), Expval("Z"))(torch.zeros(1)).shape == (2,)


# ------------------------------------------------------------- analytic checks
def test_rx_expectation_is_cos_theta():
    theta = torch.linspace(-3, 3, 7, dtype=F64)
    out = TorchSimulator(Circuit(1).rx(0, Input(0)), Expval("Z"))(inputs=theta[:, None])
    torch.testing.assert_close(out[:, 0], torch.cos(theta))


def test_bell_state_probabilities():
    c = Circuit(2).h(0).cnot(0, 1)
    out = TorchSimulator(c, Probs())()
    torch.testing.assert_close(out, torch.tensor([0.5, 0.0, 0.0, 0.5]))
    assert torch.allclose(TorchSimulator(c, Probs(wires=[1]))(), torch.tensor([0.5, 0.5]))


def test_adjoint_undoes_circuit():
    c = _random_circuit(4, 40, 1, seed=11)
    c.ops = [op for op in c.ops if not op.is_dynamic]
    params = _rand(c.n_params, seed=5, grad=False)
    u = TorchSimulator(c).unitary(params)
    u_dag = TorchSimulator(c.adjoint()).unitary(params)
    torch.testing.assert_close(u_dag @ u, torch.eye(16, dtype=torch.complex128), atol=1e-10, rtol=0)
    torch.testing.assert_close(u_dag, u.conj().T, atol=1e-10, rtol=0)
    ref = qml.matrix(make_qnode(c), wire_order=range(4))(params)
    torch.testing.assert_close(u, torch.as_tensor(ref), atol=1e-10, rtol=0)
    psi = torch.randn(3, 16, dtype=torch.complex128)
    psi = psi / psi.norm(dim=-1, keepdim=True)
    back = TorchSimulator(c.compose(c.adjoint()))(params, initial_state=psi)
    torch.testing.assert_close(fidelity(back, psi), torch.ones(3, dtype=F64))


def test_float32_runs_in_complex64():
    c = quinr_circuit(4, 2, 8)
    out = TorchSimulator(c)(torch.randn(c.n_params), torch.randn(3, 8))
    assert out.dtype == torch.complex64
    ref = TorchSimulator(c)(torch.randn(c.n_params).double(), torch.randn(3, 8).double())
    assert ref.dtype == torch.complex128


def test_quinr_structure():
    c = quinr_circuit(6, 4, 12)
    assert c.n_params == 4 * (4 * 6 + 15) and c.n_inputs == 12
    assert reupload_order(5, 0) == [0, 1, 2, 3, 4]
    assert reupload_order(5, 2) == [2, 3, 4, 0, 1]
    assert reupload_order(5, 2, shuffle=False) == list(range(5))
    first = [op for op in c.ops[:12]]
    assert [op.name for op in first] == ["RX"] * 6 + ["RZ"] * 6
    assert first[7].angles == (Input(7),)


# ------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "build",
    [
        lambda: Circuit(2).add("NOPE", 0),
        lambda: Circuit(2).rx(2),
        lambda: Circuit(2).cnot(0, 0),
        lambda: Circuit(2).add("CRZ", [0, 1], 0.1, 0.2),
        lambda: Circuit(2).angle_embedding([0], wires=[0], rotation="W"),
        lambda: Circuit(2).amplitude_embedding(range(3), wires=[0, 1]),
        lambda: Circuit(1).amplitude_embedding(range(2), wires=[0]).adjoint(),
        lambda: TorchSimulator(Circuit(2).cnot(0, 1).amplitude_embedding(range(2), wires=[0])),
        lambda: TorchSimulator(Circuit(2).rx(0))(torch.zeros(3)),
        lambda: TorchSimulator(Circuit(2).rx(0, Input(3)))(inputs=torch.zeros(4, 3)),
        lambda: TorchSimulator(Circuit(2).rx(0, Input(0)))(),
        lambda: TorchSimulator(Circuit(2), Probs(wires=[0, 0])),
    ],
)
def test_invalid_use_raises_value_error(build):
    with pytest.raises(ValueError):
        build()


def test_unnormalized_amplitudes_raise():
    c = Circuit(1).amplitude_embedding([0, 1], wires=[0], normalize=False)
    with pytest.raises(ValueError):
        TorchSimulator(c)(inputs=torch.tensor([[1.0, 1.0]]))
    out = TorchSimulator(c, Probs())(inputs=torch.tensor([[0.6, 0.8]], dtype=F64))
    torch.testing.assert_close(out, torch.tensor([[0.36, 0.64]], dtype=F64))
    assert math.isclose(float(out.sum()), 1.0)


def test_copy_and_pickle_roundtrip():
    import copy
    import pickle

    c = quinr_circuit(3, 2, 4)
    sim = TorchSimulator(c, Probs())
    p, x = torch.randn(c.n_params), torch.randn(2, 4)
    expected = sim(p, x)
    for clone in (copy.deepcopy(sim), pickle.loads(pickle.dumps(sim))):
        torch.testing.assert_close(clone(p, x), expected)
