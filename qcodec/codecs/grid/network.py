"""The hierarchical latent-grid model behind ``--model grid`` (Cool-chic / C3 style).

::

    latent planes, one per (level k, component): luma at every level 0 .. L-1, the two
    chroma components from level 1 on (RGB images); plane size h_k = 2 ceil(H / 2^(k+1)) ...
        --upsampling (coarse to fine, 2x bicubic per level)--> (1, P, H, W)
        --synthesis: linear 1x1 conv P->C  +  [1x1 conv P->F, GELU, 1x1 conv F->C]  (+ quantum branch P->C)
                     then two residual 3x3 convs C->C--> image (1, C, H, W)

    rate: each plane is coded phase by phase (see :func:`phase_split`) under a Laplace whose
    location and log-scale come from the context model (:class:`ContextModel`) applied to
    the already-decoded values: the co-located 3x3 of the same component one level coarser
    and the earlier phases of the same plane.

The planes start as a Laplacian pyramid of the image in YCbCr, divided by a per-level step
(:func:`pyramid_init_`), with the linear synthesis path set to invert it, so fitting starts
from a working multi-scale codec instead of zeros.

Everything here is the float, trainable side. The integer (fixed-point) context model that
the entropy coder actually uses is :mod:`qcodec.codecs.grid.latent_coding`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from qcodec.codecs.grid.laplace import LOG_SCALE_MIN, SCALES, SCALES_PER_UNIT, VALUE_MAX
from qcodec.quantum import Circuit, Expval, TorchSimulator

PHASES = 4
"""Each grid is coded in 4 passes over its 2x2 polyphase components (see :func:`phase_split`)."""

PHASE_OFFSETS = ((0, 0), (1, 1), (0, 1), (1, 0))
"""``(row, col)`` parity of the positions coded in phase 0, 1, 2, 3."""

CONTEXT_INPUTS = PHASES
"""Channels the context model sees: the coarser plane, then phases 0 .. 2 of the same plane."""

LOG_SCALE_MAX = LOG_SCALE_MIN + SCALES / SCALES_PER_UNIT
"""Upper end of the log-scale range the entropy coder's tables cover (natural log)."""


def grid_sizes(height: int, width: int, levels: int) -> list[tuple[int, int]]:
    """``(h_k, w_k)`` of each latent grid: ``2 * ceil(H / 2**(k+1))`` so that every grid has even sides.

    >>> grid_sizes(512, 768, 3)
    [(512, 768), (256, 384), (128, 192)]
    """
    return [(2 * math.ceil(height / 2 ** (k + 1)), 2 * math.ceil(width / 2 ** (k + 1))) for k in range(levels)]


def phase_split(grid: torch.Tensor) -> torch.Tensor:
    """The 4 polyphase components of ``grid (..., h, w)`` (even sides), in coding order: ``(..., 4, h/2, w/2)``."""
    return torch.stack([grid[..., r::2, c::2] for r, c in PHASE_OFFSETS], dim=-3)


def phase_merge(phases: torch.Tensor) -> torch.Tensor:
    """Invert :func:`phase_split`: ``(..., 4, h/2, w/2) -> (..., h, w)``."""
    *lead, _, h2, w2 = phases.shape
    grid = phases.new_zeros(*lead, 2 * h2, 2 * w2)
    for index, (r, c) in enumerate(PHASE_OFFSETS):
        grid[..., r::2, c::2] = phases[..., index, :, :]
    return grid


def coarse_context(coarse: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """The coarser plane cropped (or zero-extended) to ``like``'s ``(h2, w2)``, the size of one
    phase, with ``like``'s dtype and device; zeros for the coarsest plane."""
    h2, w2 = like.shape[-2:]
    if coarse is None:
        return like.new_zeros(h2, w2)
    out = coarse[:h2, :w2]
    if out.shape != (h2, w2):
        out = F.pad(out, (0, w2 - out.shape[1], 0, h2 - out.shape[0]))
    return out


def coarse_of(grids: list[torch.Tensor], coarse: list[int | None], index: int) -> torch.Tensor | None:
    """The plane that gives plane ``index`` its coarse context (``coarse[index]``; None for the coarsest)."""
    link = coarse[index]
    return None if link is None else grids[link]


def phase_context(phases: torch.Tensor, coarse: torch.Tensor | None, phase: int) -> torch.Tensor:
    """Context-model input of phase ``phase``: ``(CONTEXT_INPUTS, h/2, w/2)``.

    Channel 0 is the coarser grid (:func:`coarse_context`), channels ``1 + q`` the phase ``q``
    components of ``phases (4, h/2, w/2)`` for ``q < phase`` and zeros for the others, so the
    decoder can build it from what it has decoded.
    """
    channels = [coarse_context(coarse, phases[0]).to(phases.dtype)]
    channels += [phases[q] if q < phase else torch.zeros_like(phases[0]) for q in range(PHASES - 1)]
    return torch.stack(channels)


CODING_ORDER = tuple(2 * r + c for r, c in PHASE_OFFSETS)
"""Index of phase ``p``'s parity ``(r, c)`` in row-major parity order ``2 r + c``."""


def phases_last(grids: torch.Tensor) -> torch.Tensor:
    """:func:`phase_split` of ``grids (B, h, w)`` with the phase as the last axis: ``(B, h/2, w/2, 4)``."""
    batch, h, w = grids.shape
    parities = grids.reshape(batch, h // 2, 2, w // 2, 2).permute(0, 1, 3, 2, 4).reshape(batch, h // 2, w // 2, PHASES)
    return parities[..., list(CODING_ORDER)]


def all_phase_inputs(phases: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
    """The context-model input of every phase of a batch of planes at once: ``(B, CONTEXT_INPUTS, h/2, w/2)``.

    ``phases`` is ``(B, h/2, w/2, 4)`` (:func:`phases_last`), ``coarse`` the planes' coarse
    contexts ``(B, h/2, w/2)`` (:func:`coarse_context`). Channel 0 is the coarse context and
    channel ``1 + q`` phase ``q``, for ``q < 3``; :class:`ContextModel` lets phase ``p`` see
    channels ``c <= p`` only, so this equals :func:`phase_context` of each phase. The result
    is channels-last in memory.
    """
    return torch.cat([coarse[..., None], phases[..., : PHASES - 1]], dim=-1).permute(0, 3, 1, 2)


class ContextModel(nn.Module):
    """Auto-regressive context model: per-position Laplace ``(mu, log_scale)`` from decoded neighbours.

    For phase ``p``, a 3x3 convolution over the :func:`phase_context` of that phase (a 6x6
    neighbourhood in the grid) whose channels ``c > p`` are zero, plus a learned bias per
    phase, then ReLU MLP layers (1x1 convolutions in :attr:`mlp` and :attr:`out`).

    :meth:`forward` evaluates all four phases at once from one input holding every channel
    (the coarser plane and phases 0 .. 2): the first layer's weights are masked per phase
    (channel ``c`` reaches phase ``p`` only if ``c <= p``), which computes exactly the
    per-phase network above without building four zero-padded inputs.

    Shapes: ``(B, CONTEXT_INPUTS, h, w)`` -> ``(B, h * w, PHASES, 2)``: for each position
    (row-major) and phase, the location and log-scale (natural log, clamped to
    ``[LOG_SCALE_MIN, LOG_SCALE_MAX]`` by the caller).
    """

    def __init__(self, hidden: int = 16, layers: int = 2) -> None:
        super().__init__()
        self.hidden = hidden
        self.first = nn.Conv2d(CONTEXT_INPUTS, hidden, 3, padding=1, bias=False)
        self.phase_bias = nn.Parameter(torch.zeros(PHASES, hidden))
        self.mlp = nn.ModuleList([nn.Conv2d(hidden, hidden, 1) for _ in range(layers - 1)])
        self.out = nn.Conv2d(hidden, 2, 1)
        seen = torch.arange(CONTEXT_INPUTS)[None, :] <= torch.arange(PHASES)[:, None]
        self.register_buffer("phase_mask", seen.float().view(PHASES, 1, CONTEXT_INPUTS, 1, 1), persistent=False)
        with torch.no_grad():
            self.first.weight.mul_(0.5)
            self.out.weight.mul_(0.1)
            self.out.bias.zero_()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        # One channels-last 3x3 convolution for all phases (several times faster on CPU than
        # NCHW with 4 input channels) leaves rows of PHASES x hidden features, so the 1x1
        # layers are plain matrix products.
        weight = (self.first.weight[None] * self.phase_mask).reshape(PHASES * self.hidden, CONTEXT_INPUTS, 3, 3)
        h = F.conv2d(inputs.contiguous(memory_format=torch.channels_last), weight, padding=1)
        batch, _, height, width = h.shape
        h = F.relu(h.permute(0, 2, 3, 1).reshape(batch, height * width, PHASES, self.hidden) + self.phase_bias)
        for layer in self.mlp:
            h = F.relu(F.linear(h, layer.weight[:, :, 0, 0], layer.bias))
        return F.linear(h, self.out.weight[:, :, 0, 0], self.out.bias)


def context_macs_per_latent(hidden: int, layers: int) -> float:
    """Multiply-accumulates per latent of a :class:`ContextModel`; phase ``p`` uses ``p + 1`` of the 4 input channels."""
    first = hidden * CONTEXT_INPUTS * 9 * (PHASES + 1) / (2 * PHASES)
    return first + (layers - 1) * hidden * hidden + 2 * hidden


class QuantumBranch(nn.Module):
    """Residual circuit branch of the synthesis: upsampled latents ``(P, N)`` -> correction ``(C, N)``.

    Per pixel, a 1x1 map :attr:`inp` ``P -> n_qubits`` gives the angles ``a``; qubit ``k`` is
    prepared with ``RY(pi a_k)``, then ``depth`` layers of trainable ``Rot`` gates and a CNOT
    ring act on all qubits; the readout is local, ``<Z_k>`` of each qubit (``n_qubits`` values
    in ``[-1, 1]``), and :attr:`gain` ``(C, n_qubits)`` maps it to the output channels. The gain
    starts at zero, so a fresh branch leaves the classical synthesis exactly as it is and the
    fit turns it on only as far as that lowers the loss. The circuit runs on qcodec's batched
    simulator (:class:`~qcodec.quantum.TorchSimulator`).
    """

    def __init__(self, planes: int, channels: int, n_qubits: int = 4, depth: int = 2) -> None:
        super().__init__()
        circuit = Circuit(n_qubits)
        circuit.angle_embedding(None, range(n_qubits), rotation="Y", scale=math.pi)
        for _ in range(depth):
            for wire in range(n_qubits):
                circuit.rot(wire)
            for wire in range(n_qubits):
                circuit.cnot(wire, (wire + 1) % n_qubits)
        self.n_qubits = n_qubits
        self.circuit = circuit
        self.inp = nn.Conv2d(planes, n_qubits, 1)
        self.theta = nn.Parameter(torch.randn(circuit.n_params) * 0.1)
        self.gain = nn.Parameter(torch.zeros(channels, n_qubits))
        self.simulator = TorchSimulator(circuit, Expval("Z"))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z (P, N)`` -> ``(C, N)``."""
        angles = torch.addmm(self.inp.bias[:, None], self.inp.weight[:, :, 0, 0], z)
        readout = self.simulator(self.theta, angles.T).to(z.dtype)
        return self.gain @ readout.T


def quantum_macs_per_pixel(planes: int, channels: int, n_qubits: int) -> int:
    """Real multiply-accumulates per pixel of a :class:`QuantumBranch`: its input and gain maps
    and the dense simulation (4 per complex MAC)."""
    dim = 2**n_qubits
    return planes * n_qubits + 4 * dim * dim + 4 * dim * n_qubits + n_qubits * channels


class Synthesis(nn.Module):
    """Upsampled latents ``(1, P, H, W)`` -> image ``(1, C, H, W)`` (values about ``[0, 1]``).

    A linear 1x1 conv ``P -> C`` plus a nonlinear branch (1x1 conv ``P -> hidden``, GELU,
    1x1 conv ``hidden -> C``), optionally plus a :class:`QuantumBranch` ``P -> C``, then two
    residual 3x3 convs ``C -> C``. The branches' output layers and the residual convs start
    at zero.
    """

    def __init__(self, planes: int, hidden: int, channels: int, quantum_qubits: int = 0) -> None:
        super().__init__()
        self.linear = nn.Conv2d(planes, channels, 1)
        self.inp = nn.Conv2d(planes, hidden, 1)
        self.proj = nn.Conv2d(hidden, channels, 1)
        self.refine = nn.ModuleList([nn.Conv2d(channels, channels, 3, padding=1, padding_mode="replicate") for _ in range(2)])
        self.quantum = QuantumBranch(planes, channels, quantum_qubits) if quantum_qubits else None
        with torch.no_grad():
            self.linear.bias.fill_(0.5)
            for conv in (self.proj, *self.refine):
                conv.weight.zero_()
                conv.bias.zero_()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # The 1x1 convolutions as matrix products over the pixels (one for the linear path and
        # the branch's input together), the 3x3 ones channels-last: both much faster on CPU.
        _, planes, height, width = z.shape
        channels = self.linear.out_channels
        flat = z.reshape(planes, -1)
        weight = torch.cat([self.linear.weight, self.inp.weight])[:, :, 0, 0]
        y = torch.addmm(torch.cat([self.linear.bias, self.inp.bias])[:, None], weight, flat)
        # split, not two slices: its backward concatenates the two gradients instead of
        # writing each into a zeroed copy of y
        linear, h = y.split([channels, self.inp.out_channels])
        x = linear + torch.addmm(self.proj.bias[:, None], self.proj.weight[:, :, 0, 0], F.gelu(h))
        if self.quantum is not None:
            x = x + self.quantum(flat)
        x = x.reshape(1, channels, height, width).contiguous(memory_format=torch.channels_last)
        for conv in self.refine:
            x = x + conv(x)
        return x.contiguous()


def synthesis_macs_per_pixel(planes: int, hidden: int, channels: int, quantum_qubits: int) -> int:
    """Multiply-accumulates per pixel of a :class:`Synthesis` (its quantum layer's simulation included)."""
    classical = planes * channels + planes * hidden + hidden * channels + 2 * 9 * channels * channels
    return classical + (quantum_macs_per_pixel(planes, channels, quantum_qubits) if quantum_qubits else 0)


UPSAMPLING_TAPS = (-0.0234375, -0.0703125, 0.2265625, 0.8671875, 0.8671875, 0.2265625, -0.0703125, -0.0234375)
"""Polyphase taps of 2x bicubic interpolation (Keys' cubic convolution with a = -0.5, output samples at +-1/4 of an input sample)."""


def _polyphase_taps(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``(2, 5)``: the taps over input samples ``i - 2 .. i + 2`` of output samples ``2i`` and ``2i + 1``."""
    t = UPSAMPLING_TAPS
    return torch.tensor([[t[7], t[5], t[3], t[1], 0.0], [0.0, t[6], t[4], t[2], t[0]]], dtype=dtype, device=device)


def upsample2(x: torch.Tensor) -> torch.Tensor:
    """2x bicubic upsampling of ``(1, C, h, w)`` to ``(1, C, 2h, 2w)``, edges replicated.

    Separable, along each axis a polyphase filter with :data:`UPSAMPLING_TAPS`: a depthwise
    convolution makes the even and the odd output samples as two channels, then they are
    interleaved (faster on CPU than the equivalent stride-2 transposed convolution).
    """
    _, channels, h, w = x.shape
    taps = _polyphase_taps(x.dtype, x.device)
    x = F.conv2d(F.pad(x, (2, 2, 0, 0), mode="replicate"), taps.view(2, 1, 1, 5).repeat(channels, 1, 1, 1), groups=channels)
    x = x.view(1, channels, 2, h, w).permute(0, 1, 3, 4, 2).reshape(1, channels, h, 2 * w)
    x = F.conv2d(F.pad(x, (0, 0, 2, 2), mode="replicate"), taps.view(2, 1, 5, 1).repeat(channels, 1, 1, 1), groups=channels)
    return x.view(1, channels, 2, h, 2 * w).permute(0, 1, 3, 2, 4).reshape(1, channels, 2 * h, 2 * w)


def upsample(levels: list[torch.Tensor], height: int, width: int) -> torch.Tensor:
    """Every plane at full resolution: ``levels[k]`` is ``(c_k, h_k, w_k)``; returns ``(1, sum c_k, H, W)``.

    Coarse to fine: the stack of coarser planes is upsampled 2x (:func:`upsample2`), cropped
    to the next level's size, and that level's planes join it in front; so the channels
    come out level-major, level 0 first.
    """
    x = levels[-1][None]
    for planes in reversed(levels[:-1]):
        h, w = planes.shape[-2:]
        x = torch.cat([planes[None], upsample2(x)[:, :, :h, :w]], dim=1)
    return x[:, :, :height, :width]


def laplace_bits(values: torch.Tensor, mu: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """Bits of integer-valued ``values`` under a Laplace discretised to unit bins (elementwise).

    With ``a = |value - mu|`` and ``e(t) = exp(-t / b)``, the bin mass is ``1 - (e(1/2 - a) +
    e(1/2 + a)) / 2`` when ``a < 1/2`` and ``(e(a - 1/2) - e(a + 1/2)) / 2`` otherwise: two
    exponentials per value, no cancellation in the tails.
    """
    inverse_scale = torch.exp(-log_scale)
    a = torch.abs(values - mu)
    near = torch.exp(-torch.abs(a - 0.5) * inverse_scale)
    far = torch.exp(-(a + 0.5) * inverse_scale)
    mass = torch.where(a < 0.5, 1.0 - 0.5 * (near + far), 0.5 * (near - far))
    return -torch.log2(torch.clamp(mass, min=2**-24))


YCBCR = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
"""RGB -> YCbCr (BT.601, as in JPEG), the components of the latent planes."""


@dataclass(frozen=True)
class Plane:
    """One latent plane: its ``level`` (resolution ``1 / 2**level``), ``component`` (0 luma or
    gray, 1 Cb, 2 Cr) and ``coarse``, the index of the same component one level coarser (or None)."""

    level: int
    component: int
    coarse: int | None


def plane_layout(levels: int, channels: int) -> list[Plane]:
    """The planes of a model, level-major (the synthesis' input order; coding runs in reverse).

    >>> [(p.level, p.component) for p in plane_layout(3, 3)]
    [(0, 0), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
    """
    keys = [(k, c) for k in range(levels) for c in range(channels if k > 0 else 1)]
    index = {key: i for i, key in enumerate(keys)}
    return [Plane(k, c, index.get((k + 1, c))) for k, c in keys]


def _reduce2(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """2x2 mean of ``(1, C, h', w')`` padded (edge replication) to ``(2h, 2w)``: ``(1, C, h, w)``."""
    x = F.pad(x, (0, 2 * w - x.shape[-1], 0, 2 * h - x.shape[-2]), mode="replicate")
    return F.avg_pool2d(x, 2)


UPSAMPLING_MACS = 8
"""Multiply-accumulates per output sample and channel of :func:`upsample2` (4 taps per axis)."""

PYRAMID_MAX_SHIFT = 3
"""Coarser pyramid levels get steps ``2**-k`` times the base step, down to ``2**-PYRAMID_MAX_SHIFT``."""


class GridModel(nn.Module):
    """Latent planes, context model and synthesis of one image (the ``--model grid`` network).

    Args:
        height, width: image size in pixels.
        channels: 1 or 3.
        levels: number of resolutions (full down to ``1 / 2**(levels - 1)``).
        hidden: synthesis width.
        context_hidden, context_layers: context-model width and depth.
        quantum_qubits: qubits of the synthesis' quantum branch (0: none).

    ``forward(mode)`` returns ``(bits, image)``: the estimated rate of the latents in bits
    (a scalar) and the synthesized ``(1, C, H, W)`` image. ``mode`` is ``"noise"`` (additive
    uniform noise), ``"ste"`` (rounding with a straight-through gradient) or ``"round"``.
    """

    def __init__(
        self,
        height: int,
        width: int,
        channels: int = 3,
        levels: int = 7,
        hidden: int = 16,
        context_hidden: int = 16,
        context_layers: int = 2,
        quantum_qubits: int = 0,
    ) -> None:
        super().__init__()
        self.height, self.width, self.channels = height, width, channels
        self.level_sizes = grid_sizes(height, width, levels)
        self.planes = plane_layout(levels, channels)
        self.sizes = [self.level_sizes[p.level] for p in self.planes]
        self.coarse = [p.coarse for p in self.planes]
        self.level_planes = [[i for i, p in enumerate(self.planes) if p.level == k] for k in range(levels)]
        self.latents = nn.ParameterList([nn.Parameter(torch.zeros(h, w)) for h, w in self.sizes])
        self.context = ContextModel(context_hidden, context_layers)
        self.synthesis = Synthesis(len(self.planes), hidden, channels, quantum_qubits)

    def quantized_latents(self, mode: str) -> list[torch.Tensor]:
        """The latents clamped to ``[-VALUE_MAX, VALUE_MAX]`` and noised or rounded per ``mode``."""
        out = []
        for grid in self.latents:
            g = grid.clamp(-VALUE_MAX, VALUE_MAX)
            if mode == "noise":
                g = g + torch.rand_like(g) - 0.5
            elif mode == "ste":
                g = g + (torch.round(g) - g).detach()
            elif mode == "round":
                g = torch.round(g)
            else:
                raise ValueError(f"unknown quantization mode {mode!r}")
            out.append(g)
        return out


    def rate_bits(self, grids: list[torch.Tensor]) -> torch.Tensor:
        """Estimated bits of the planes ``grids`` under the (float) context model.

        The planes of one level (same size) go through the context model together, all four
        phases in one call (:meth:`ContextModel.forward`).
        """
        bits = grids[0].new_zeros(())
        for indices in self.level_planes:
            phases = phases_last(torch.stack([grids[i] for i in indices]))
            like = phases[0, :, :, 0]
            coarse = torch.stack([coarse_context(coarse_of(grids, self.coarse, i), like) for i in indices])
            out = self.context(all_phase_inputs(phases, coarse))
            mu = out[..., 0].clamp(-VALUE_MAX, VALUE_MAX)
            log_scale = out[..., 1].clamp(LOG_SCALE_MIN, LOG_SCALE_MAX)
            bits = bits + laplace_bits(phases.reshape(mu.shape), mu, log_scale).sum()
        return bits

    def upsampled(self, grids: list[torch.Tensor]) -> torch.Tensor:
        """The planes ``grids`` stacked by level and upsampled (:func:`upsample`): ``(1, P, H, W)``."""
        return upsample([torch.stack([grids[i] for i in indices]) for indices in self.level_planes], self.height, self.width)

    def synthesize(self, grids: list[torch.Tensor]) -> torch.Tensor:
        """``(1, C, H, W)`` image of (quantized) latent planes."""
        return self.synthesis(self.upsampled(grids))

    def forward(self, mode: str = "round") -> tuple[torch.Tensor, torch.Tensor]:
        grids = self.quantized_latents(mode)
        return self.rate_bits(grids), self.synthesize(grids)

    def decoder_parameters(self) -> dict[str, torch.Tensor]:
        """What the decoder needs besides the latents, ``{name: tensor}`` in coding order."""
        return {name: p for name, p in self.named_parameters() if not name.startswith("latents.")}

    @torch.no_grad()
    def pyramid_init_(self, target: torch.Tensor, step: float) -> None:
        """Start from a Laplacian pyramid of ``target (1, C, H, W)`` that the linear synthesis path inverts.

        Level ``k`` holds the component's detail at that resolution divided by
        ``step / 2**min(k, PYRAMID_MAX_SHIFT)`` (finer steps for coarser levels, as an
        orthonormal wavelet would scale them, capped to keep values in range); the
        coarsest level also holds the local means. Chroma detail at full resolution is dropped.
        """
        colour = target if self.channels == 1 else torch.einsum("ij,bjhw->bihw", YCBCR.to(target), target)
        full_h, full_w = self.level_sizes[0]
        gaussian = [F.pad(colour, (0, full_w - self.width, 0, full_h - self.height), mode="replicate")]
        for h, w in self.level_sizes[1:]:
            gaussian.append(_reduce2(gaussian[-1], h, w))
        means = gaussian[-1].mean(dim=(2, 3), keepdim=True)
        bands = []
        for k, (h, w) in enumerate(self.level_sizes):
            if k + 1 < len(self.level_sizes):
                bands.append(gaussian[k] - upsample2(gaussian[k + 1])[:, :, :h, :w])
            else:
                bands.append(gaussian[k] - means)
        inverse = (torch.eye(1) if self.channels == 1 else torch.linalg.inv(YCBCR)).to(target)
        linear = self.synthesis.linear
        linear.weight.zero_()
        for index, plane in enumerate(self.planes):
            level_step = step / 2 ** min(plane.level, PYRAMID_MAX_SHIFT)
            self.latents[index].copy_(bands[plane.level][0, plane.component] / level_step)
            linear.weight[:, index, 0, 0] = inverse[:, plane.component] * level_step
        linear.bias.copy_(inverse @ means.reshape(-1))


def decode_macs_per_pixel(
    height: int, width: int, channels: int, levels: int, hidden: int, context_hidden: int, context_layers: int, quantum_qubits: int
) -> dict[str, float]:
    """Decoding multiply-accumulates per pixel of a :class:`GridModel` of this shape, without building it:
    context model, upsampling, synthesis and total."""
    level_sizes = grid_sizes(height, width, levels)
    planes = plane_layout(levels, channels)
    pixels = height * width
    latents = sum(h * w for h, w in (level_sizes[p.level] for p in planes))
    counts = [sum(1 for p in planes if p.level == k) for k in range(levels)]
    upsampled = sum(UPSAMPLING_MACS * sum(counts[k + 1 :]) * h * w for k, (h, w) in enumerate(level_sizes[:-1]))
    parts = {
        "context": context_macs_per_latent(context_hidden, context_layers) * latents / pixels,
        "upsampling": upsampled / pixels,
        "synthesis": synthesis_macs_per_pixel(len(planes), hidden, channels, quantum_qubits),
    }
    return {**parts, "total": sum(parts.values())}
