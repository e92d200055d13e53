"""Batched, differentiable state-vector simulator in torch.

The state of ``B`` samples under ``P`` parameter sets is a complex tensor
``(P, B, 2**n)`` (``P = 1`` for one shared parameter vector); wire 0 is the most
significant bit of the basis index, as in PennyLane. Everything is plain torch
autograd, so gradients flow to ``params``, ``inputs`` and ``initial_state``.

Speed comes from :mod:`qcodec.quantum.compiler`: the product-state prefix is built
directly, trainable-only runs of gates are fused into one ``2**n x 2**n`` matrix per
forward pass (one ``bmm``/``matmul`` on the whole batch), and input-dependent gates
become per-sample phase vectors (one elementwise multiply). There is no Python loop
over samples or parameter sets.

>>> import torch
>>> from qcodec.quantum import Circuit, Input, Probs, TorchSimulator
>>> c = Circuit(2).ry(0, Input(0)).cnot(0, 1)
>>> sim = TorchSimulator(c, Probs())
>>> sim(inputs=torch.tensor([[torch.pi / 2]])).round(decimals=4)
tensor([[0.5000, 0.0000, 0.0000, 0.5000]])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from qcodec.quantum import compiler as C
from qcodec.quantum import kernels as K
from qcodec.quantum.circuit import AmplitudeEmbedding, Circuit, Operation
from qcodec.quantum.gates import GATES, complex_dtype
from qcodec.quantum.kernels import angle_table
from qcodec.quantum.measurements import Measurement, State

Tensor = torch.Tensor


@dataclass
class _Ctx:
    """Per-call tensors: ``params (P, n_params)``, ``inputs (P, B, n_inputs)`` or None."""

    params: Tensor
    inputs: Tensor | None
    P: int
    B: int
    rdtype: torch.dtype
    cdtype: torch.dtype
    device: torch.device


class TorchSimulator:
    """Compiled torch simulator for one circuit and one measurement.

    Args:
        circuit: the :class:`~qcodec.quantum.circuit.Circuit` to run (compiled now; later
            edits of ``circuit`` are not seen).
        measurement: :class:`State` (default), :class:`Probs` or :class:`Expval`.
        fuse: fuse static gate runs into one matrix: ``True``/``False``, or ``None`` to
            decide per step from a cost estimate.
        max_fuse_qubits: never fuse above this many qubits (matrix memory is ``4**n``).

    Call with ``params (n_params,)`` and ``inputs (*batch, n_inputs)`` to get
    ``(*batch, *measurement_shape)``; with ``params (P, n_params)`` (``P`` parameter
    sets, e.g. parallel circuits) pass ``inputs (*batch, P, n_inputs)`` and get
    ``(*batch, P, *measurement_shape)``. Extra trailing input features are ignored.
    ``initial_state (*batch, [P,] 2**n)`` replaces ``|0...0>``. float64 inputs run in
    complex128, float32 in complex64.
    """

    def __init__(
        self,
        circuit: Circuit,
        measurement: Measurement | None = None,
        *,
        fuse: bool | None = None,
        max_fuse_qubits: int = 10,
    ) -> None:
        self.circuit = circuit.copy()
        self.n_qubits = circuit.n_qubits
        self.n_params = circuit.n_params
        self.n_inputs = circuit.n_inputs
        self.measurement: Measurement = measurement if measurement is not None else State()
        self.measurement.shape(self.n_qubits)  # validates wires
        self.fuse = fuse
        self.max_fuse_qubits = max_fuse_qubits
        self._programs: dict[bool, C.Program] = {True: C.compile_circuit(self.circuit, True)}
        self._cache: dict[tuple, object] = {}

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"] = {}  # keyed by object ids: rebuilt lazily after copy/pickle
        return state

    def __repr__(self) -> str:
        return f"TorchSimulator({self.circuit!r}, {self.measurement!r})"

    # ------------------------------------------------------------------ API
    def __call__(
        self, params: Tensor | None = None, inputs: Tensor | None = None, initial_state: Tensor | None = None
    ) -> Tensor:
        """Run the circuit and return the measurement (shapes: see the class docstring)."""
        ctx, batch, p_batched = self._context(params, inputs, initial_state)
        if initial_state is None:
            state = self._prefix_state(self._programs[True].prefix, ctx)
            program = self._programs[True]
        else:
            if False not in self._programs:
                self._programs[False] = C.compile_circuit(self.circuit, False)
            program = self._programs[False]
            state = self._initial(initial_state, ctx, p_batched)
        for step in program.steps:
            if isinstance(step, C.DiagStep):
                state = K.phase_multiply(state, self._diag_angle(step, ctx, static=False))
            elif self._should_fuse(step, ctx):
                state = K.matmul_rows(state, self._static_matrix(step, ctx))
            else:
                for block in step.blocks:
                    state = self._apply_block(state, block, ctx)
        state = state.expand(ctx.P, ctx.B, state.shape[-1])
        out = self.measurement.compute(state, self.n_qubits)  # (P, B, *shape)
        out = out.transpose(0, 1)
        shape = (*batch, ctx.P) if p_batched else batch
        return out.reshape(*shape, *out.shape[2:])

    def unitary(self, params: Tensor | None = None) -> Tensor:
        """The circuit matrix ``(2**n, 2**n)`` (or ``(P, 2**n, 2**n)``); needs no inputs."""
        if self.n_inputs:
            raise ValueError("unitary() needs a circuit without input-dependent gates")
        params = K.as_tensor(params, "params")
        rdtype = params.dtype if params is not None and params.is_floating_point() else torch.float64
        dim = 2**self.n_qubits
        eye = torch.eye(dim, dtype=complex_dtype(rdtype), device=None if params is None else params.device)
        if params is not None and params.dim() == 2:
            eye = eye[:, None, :].expand(dim, params.shape[0], dim)
        sim = self if isinstance(self.measurement, State) else TorchSimulator(self.circuit, fuse=self.fuse)
        out = sim(params, None, eye)  # row k = U e_k
        return out.transpose(0, -1) if out.dim() == 2 else out.permute(1, 2, 0)

    # ------------------------------------------------------------- shapes
    def _context(self, params, inputs, initial_state) -> tuple[_Ctx, tuple[int, ...], bool]:
        params, inputs, initial_state = (K.as_tensor(t, k) for t, k in
                                         ((params, "params"), (inputs, "inputs"), (initial_state, "initial_state")))
        if params is None:
            if self.n_params:
                raise ValueError(f"the circuit needs params of length {self.n_params}")
            params = torch.zeros(0)
        if params.dim() not in (1, 2) or params.shape[-1] != self.n_params:
            raise ValueError(
                f"params must have shape ({self.n_params},) or (P, {self.n_params}); got {tuple(params.shape)}"
            )
        p_batched = params.dim() == 2
        P = params.shape[0] if p_batched else 1
        tail = 2 if p_batched else 1
        if inputs is None and self.n_inputs:
            raise ValueError(f"the circuit needs inputs with {self.n_inputs} features")
        batch: tuple[int, ...] | None = None
        if inputs is not None:
            if inputs.dim() < tail or inputs.shape[-1] < self.n_inputs or (p_batched and inputs.shape[-2] != P):
                want = f"(..., {P}, >={self.n_inputs})" if p_batched else f"(..., >={self.n_inputs})"
                raise ValueError(f"inputs must have shape {want}; got {tuple(inputs.shape)}")
            batch = tuple(inputs.shape[: inputs.dim() - tail])
        if initial_state is not None:
            dim = 2**self.n_qubits
            bad = initial_state.dim() < tail or initial_state.shape[-1] != dim
            if bad or (p_batched and initial_state.shape[-2] != P):
                raise ValueError(f"initial_state must have shape (..., {'P, ' if p_batched else ''}{dim}); "
                                 f"got {tuple(initial_state.shape)}")
            sbatch = tuple(initial_state.shape[: initial_state.dim() - tail])
            if batch is not None and sbatch != batch:
                raise ValueError(f"inputs batch {batch} and initial_state batch {sbatch} differ")
            batch = sbatch
        batch = batch or ()
        B = math.prod(batch)
        rdtype = params.dtype if params.is_floating_point() and params.numel() else None
        for t in (inputs, initial_state):
            if t is not None and (t.is_floating_point() or t.is_complex()):
                r = t.real.dtype if t.is_complex() else t.dtype
                rdtype = r if rdtype is None else torch.promote_types(rdtype, r)
        rdtype = rdtype or torch.get_default_dtype()
        device = params.device if params.numel() else (inputs if inputs is not None else
                                                        initial_state if initial_state is not None else params).device
        params = params.to(device=device, dtype=rdtype).reshape(P, self.n_params)
        if inputs is not None:
            inputs = inputs[..., : self.n_inputs].to(rdtype).reshape(B, P, self.n_inputs).transpose(0, 1)
        ctx = _Ctx(params, inputs, P, B, rdtype, complex_dtype(rdtype), device)
        return ctx, batch, p_batched

    def _initial(self, state: Tensor, ctx: _Ctx, p_batched: bool) -> Tensor:
        state = state.to(ctx.cdtype).reshape(ctx.B, ctx.P if p_batched else 1, -1)
        return state.transpose(0, 1)

    # ------------------------------------------------------------- constants
    def _plan(self, tag: str, obj: object, make, *extra: object):
        """Compile-time object for ``obj`` (a program piece), cached by identity.

        The cache holds ``obj`` itself so its ``id`` cannot be reused while cached.
        """
        key = (tag, id(obj), *extra)
        if key not in self._cache:
            self._cache[key] = (obj, make())
        return self._cache[key][1]  # type: ignore[index]

    def _t(self, arr: np.ndarray | Tensor, ctx: _Ctx, dtype: torch.dtype | None = None) -> Tensor:
        """``arr`` as a cached tensor on ``ctx.device`` (real arrays in ``ctx.rdtype``)."""
        key = ("t", id(arr), dtype or ctx.cdtype, ctx.device)
        if key not in self._cache:
            t = torch.as_tensor(arr)
            if dtype is None:
                dtype = ctx.cdtype if t.is_complex() else ctx.rdtype if t.is_floating_point() else t.dtype
            self._cache[key] = (arr, t.to(device=ctx.device, dtype=dtype))  # keep arr alive: stable id
        return self._cache[key][1]  # type: ignore[index]

    def _angles(self, table: K.AngleTable, ctx: _Ctx, static: bool) -> Tensor:
        """Angle values: ``(k,)`` if constant, ``(P, k)`` if ``static``, else ``(P, B|1, k)``."""
        v = self._t(table.const, ctx)
        if table.w_param is not None:
            pv = ctx.params @ self._t(table.w_param, ctx)
            v = v + (pv if static else pv[:, None, :])
        if table.w_input is not None:
            assert ctx.inputs is not None and not static
            v = v + ctx.inputs @ self._t(table.w_input, ctx)
        return v

    def _wire_products(self, plan: K.WirePlan, ctx: _Ctx, static: bool, vectors: bool) -> Tensor:
        """Per-wire gate products ``(..., n_w, 2, 2)``, or their first columns ``(..., n_w, 2)``
        (the states reached from ``|0>``) if ``vectors``.

        Works entry-major (``(2, 2, ..., n_w)``) so that every broadcast in the backward
        pass reduces over short leading axes, which is fast.
        """
        out: Tensor | None = None
        n_lead = 1 if static else 2
        for pos in plan.positions:
            theta = self._angles(pos.angles, ctx, static) * self._t(pos.alpha, ctx)
            theta = theta.reshape(*([1] * (n_lead + 1 - theta.dim())), *theta.shape)  # (P|1, [B|1,] n_w)
            c, s = torch.cos(theta), torch.sin(theta)
            first_col = vectors and out is None  # first gate on |0>: only column 0 is needed
            consts = [self._t(m, ctx) for m in (pos.columns if first_col else pos.entries)]
            lead = [1] * n_lead
            a0, a, b = (m.reshape(*m.shape[:-1], *lead, m.shape[-1]) for m in consts)
            m = a0 + c * a + s * b  # (2, [2,] ..., n_w)
            if out is None:
                out = m
            elif vectors:
                out = (m * out.unsqueeze(0)).sum(1)
            else:
                out = (m.unsqueeze(2) * out.unsqueeze(0)).sum(1)
        if out is None:  # no gates at all
            eye = self._gate_const("I", ctx)
            eye = eye[:, 0] if vectors else eye
            out = eye.reshape(*eye.shape, *([1] * (n_lead + 1))).expand(*eye.shape, *([1] * n_lead), len(plan.wires))
        return out.movedim(0, -1) if vectors else out.movedim((0, 1), (-2, -1))

    def _gate_const(self, name: str, ctx: _Ctx) -> Tensor:
        key = ("const_gate", name, ctx.cdtype, ctx.device)
        if key not in self._cache:
            m = torch.eye(2, dtype=torch.complex128) if name == "I" else GATES[name].matrix([])
            self._cache[key] = m.to(device=ctx.device, dtype=ctx.cdtype)
        return self._cache[key]  # type: ignore[return-value]

    def _gate(self, op: Operation, ctx: _Ctx) -> Tensor:
        """Matrix of a static gate, ``(P|1, d, d)``."""
        spec = GATES[op.name]
        if spec.n_angles == 0:
            return self._gate_const(op.name, ctx)[None]
        tables = self._plan("gate", op, lambda: [angle_table([a], self.n_params, self.n_inputs) for a in op.angles])
        m = spec.matrix([self._angles(t, ctx, static=True)[..., 0] for t in tables]).to(ctx.cdtype)
        return m if m.dim() == 3 else m[None]

    # ------------------------------------------------------------- prefix
    def _prefix_state(self, prefix: C.Prefix, ctx: _Ctx) -> Tensor:
        """Product state ``(P|1, B|1, 2**n)`` from the prefix gates and amplitude embeddings."""
        n = self.n_qubits
        embedded = {w for emb in prefix.embeddings for w in emb.wires}
        free = [w for w in range(n) if w not in embedded]
        plan = self._plan("prefix", prefix,
                          lambda: K.wire_plan(prefix.wire_ops, free, self.n_params, self.n_inputs))
        factors: dict[int, tuple[list[int], Tensor]] = {}
        if free:
            vecs = self._wire_products(plan, ctx, static=False, vectors=True)  # (P|1, B|1, n_free, 2)
            factors.update({w: ([w], v) for w, v in zip(free, vecs.unbind(-2))})
        for emb in prefix.embeddings:
            factors[emb.wires[0]] = (list(emb.wires), self._amplitude(emb, ctx))
        order = [w for first in sorted(factors) for w in factors[first][0]]
        state = K.kron_vectors([factors[first][1] for first in sorted(factors)])
        if order != list(range(n)):
            lead = state.shape[:-1]
            state = state.reshape(*lead, *([2] * n)).permute(0, 1, *(2 + order.index(w) for w in range(n)))
            state = state.reshape(*lead, 2**n)
        return state

    def _amplitude(self, emb: AmplitudeEmbedding, ctx: _Ctx) -> Tensor:
        assert ctx.inputs is not None
        x = ctx.inputs[..., list(emb.features)]
        dim = 2 ** len(emb.wires)
        if x.shape[-1] < dim:
            x = torch.cat([x, x.new_full((*x.shape[:-1], dim - x.shape[-1]), float(emb.pad_with))], -1)
        norm = x.norm(dim=-1, keepdim=True)
        if emb.normalize:
            if bool((norm == 0).any()):
                raise ValueError("amplitude embedding of an all-zero feature vector")
            x = x / norm
        else:
            tol = 1e-10 if ctx.rdtype == torch.float64 else 1e-5
            if not torch.allclose(norm, torch.ones_like(norm), atol=tol, rtol=0):
                raise ValueError("amplitude embedding features must have unit norm (or use normalize=True)")
        return x.to(ctx.cdtype)

    # ------------------------------------------------------------- diagonal
    def _diag_phase(self, block: C.DiagBlock, ctx: _Ctx) -> Tensor:
        """``exp(i phi)`` of a static diagonal block, ``(P|1, 2**n)``."""
        phi = self._diag_angle(block, ctx, static=True)
        return torch.complex(torch.cos(phi), torch.sin(phi))

    def _diag_angle(self, step: C.DiagStep | C.DiagBlock, ctx: _Ctx, static: bool) -> Tensor:
        """Phase ``phi``: ``(P|1, B|1, 2**n)``, or ``(P|1, 2**n)`` if ``static``."""
        plan = self._plan("diag", step, lambda: C.diag_plan(self.n_qubits, step.ops))
        phase = self._t(plan["const"], ctx)
        if "A_p" in plan:
            th = ctx.params[:, self._t(plan["idx_p"], ctx)] * self._t(plan["scale_p"], ctx)
            contrib = th @ self._t(plan["A_p"], ctx)
            phase = phase + (contrib if static else contrib[:, None, :])
        if "A_in" in plan:
            assert ctx.inputs is not None and not static
            th = ctx.inputs[..., self._t(plan["idx_in"], ctx)] * self._t(plan["scale_in"], ctx)
            phase = phase + th @ self._t(plan["A_in"], ctx)
        if phase.dim() == 1:
            phase = phase[None] if static else phase[None, None]
        return phase

    # ------------------------------------------------------------- static steps
    def _should_fuse(self, step: C.StaticStep, ctx: _Ctx) -> bool:
        """Fuse when building ``U`` and one matmul beats applying the blocks to the batch.

        Costs are in elementwise passes over one amplitude (see ``MATMUL_SPEEDUP`` and
        ``WIRE_PASS_COST`` in :mod:`~qcodec.quantum.compiler`); a constant step's matrix
        is built once and cached.
        """
        if self.n_qubits > self.max_fuse_qubits:
            return False
        if self.fuse is not None:
            return self.fuse
        dim, rows = 2**self.n_qubits, ctx.B * ctx.P
        direct = sum(C.block_passes(b) for b in step.blocks) * rows * dim
        kron_cost = dim**3 / C.MATMUL_SPEEDUP + 2 * dim * dim
        build = 0.0
        if not step.constant:
            for i, b in enumerate(step.blocks):
                build += kron_cost if C.use_kron(b, dim, i == 0) else C.block_passes(b) * dim * dim
        return build + rows * dim * dim / C.MATMUL_SPEEDUP < direct

    def _static_matrix(self, step: C.StaticStep, ctx: _Ctx) -> Tensor:
        """``M = U^T`` of the step, ``(P|1, 2**n, 2**n)``: new rows = old rows ``@ M``."""
        if step.constant:
            with torch.no_grad():
                return self._plan("static", step, lambda: self._build_matrix(step, ctx), ctx.cdtype, ctx.device)
        return self._build_matrix(step, ctx)

    def _build_matrix(self, step: C.StaticStep, ctx: _Ctx) -> Tensor:
        dim = 2**self.n_qubits
        m: Tensor | None = None
        for block in step.blocks:
            if C.use_kron(block, dim, m is None):
                k = self._kron_matrix(block, ctx)
                m = k if m is None else K.matmul_rows(m, k)
            elif m is None and isinstance(block, C.DiagBlock):
                m = torch.diag_embed(self._diag_phase(block, ctx))
            else:
                if m is None:
                    m = torch.eye(dim, dtype=ctx.cdtype, device=ctx.device)[None]
                m = self._apply_block(m, block, ctx)
        assert m is not None
        return m

    def _block_matrices(self, block: C.KronBlock, ctx: _Ctx, all_wires: bool) -> tuple[list[int], Tensor]:
        wires = list(range(self.n_qubits)) if all_wires else sorted(block.wire_ops)
        plan = self._plan("kron", block,
                          lambda: K.wire_plan(block.wire_ops, wires, self.n_params, self.n_inputs), all_wires)
        mats = self._wire_products(plan, ctx, static=True, vectors=False)
        return wires, mats.reshape(-1, *mats.shape[-3:])

    def _kron_matrix(self, block: C.KronBlock, ctx: _Ctx) -> Tensor:
        """``U^T = (x)_w G_w^T`` of a single-qubit layer, ``(P|1, 2**n, 2**n)``."""
        _, mats = self._block_matrices(block, ctx, all_wires=True)
        return K.kron_rows(mats.transpose(-1, -2))

    def _apply_block(self, x: Tensor, block: C.Block, ctx: _Ctx) -> Tensor:
        """Apply a static block to rows ``x (P|1, R, 2**n)`` (states, or rows of ``U^T``)."""
        n = self.n_qubits
        if isinstance(block, C.KronBlock):
            wires, mats = self._block_matrices(block, ctx, all_wires=False)
            for i, w in enumerate(wires):
                x = K.apply_1q(x, n, w, mats[:, i])
            return x
        if isinstance(block, C.DiagBlock):
            return x * self._diag_phase(block, ctx)[:, None, :]
        if isinstance(block, C.PermBlock):
            perm = self._plan("perm", block, lambda: C.full_permutation(n, block.ops))
            return x[..., self._t(perm, ctx, torch.long)]
        return K.apply_2q(x, n, block.op.wires, self._gate(block.op, ctx))


def simulate(
    circuit: Circuit,
    params: Tensor | None = None,
    inputs: Tensor | None = None,
    measurement: Measurement | None = None,
    initial_state: Tensor | None = None,
) -> Tensor:
    """One-shot ``TorchSimulator(circuit, measurement)(params, inputs, initial_state)``.

    For repeated calls build a :class:`TorchSimulator` once (compilation is cached there).
    """
    return TorchSimulator(circuit, measurement)(params, inputs, initial_state)
