"""The hierarchical latent-grid model behind ``--model grid`` (Cool-chic / C3 style).

::

    latent planes, one per (level k, component): luma at every level 0 .. L-1, the two
    chroma components from level 1 on (RGB images); plane size h_k = 2 ceil(H / 2^(k+1)) ...
        --upsampling (coarse to fine, 2x bicubic per level)--> (1, P, H, W)
        --synthesis: linear 1x1 conv P->C  +  [1x1 conv P->F, GELU, 1x1 conv F->C]  (+ quantum branch P->C)
                     then two residual 3x3 convs C->C--> image (1, C, H, W)

    rate: each plane is coded in raster order under a Laplace whose location and log-scale
    come from the context model (:class:`ContextModel`) applied to what is already decoded:
    the 24 causal neighbours in a 7x7 window of the same plane and the 3x3 around it of the
    same component one level coarser, upsampled.

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

CONTEXT_RADIUS = 3
"""The context model sees the causal neighbours within ``+-CONTEXT_RADIUS`` samples (a 7x7 window)."""

CAUSAL_OFFSETS = tuple(
    (dr, dc) for dr in range(-CONTEXT_RADIUS, 1) for dc in range(-CONTEXT_RADIUS, CONTEXT_RADIUS + 1) if dr < 0 or dc < 0
)
"""``(row, col)`` offsets of the 24 decoded neighbours a latent's context holds: the three rows
above within the window, and the three samples to its left (raster order)."""

COARSE_OFFSETS = tuple((dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1))
"""``(row, col)`` offsets of the 3x3 of the upsampled coarser plane around a latent."""

LOG_SCALE_MAX = LOG_SCALE_MIN + SCALES / SCALES_PER_UNIT
"""Upper end of the log-scale range the entropy coder's tables cover (natural log)."""


def grid_sizes(height: int, width: int, levels: int) -> list[tuple[int, int]]:
    """``(h_k, w_k)`` of each latent grid: ``2 * ceil(H / 2**(k+1))`` so that every grid has even sides.

    >>> grid_sizes(512, 768, 3)
    [(512, 768), (256, 384), (128, 192)]
    """
    return [(2 * math.ceil(height / 2 ** (k + 1)), 2 * math.ceil(width / 2 ** (k + 1))) for k in range(levels)]


def coarse_of(grids: list[torch.Tensor], coarse: list[int | None], index: int) -> torch.Tensor | None:
    """The plane that gives plane ``index`` its coarse context (``coarse[index]``; None for the coarsest)."""
    link = coarse[index]
    return None if link is None else grids[link]


def coarse_context(coarse: torch.Tensor | None, planes: torch.Tensor) -> torch.Tensor:
    """The coarse context of ``planes (B, h, w)``: their coarser planes ``coarse (B, h', w')``
    upsampled 2x (:func:`upsample2`) and cropped to ``(B, h, w)``; zeros for the coarsest planes
    (``coarse`` None). Same dtype as ``planes``.

    For integer planes every value is a multiple of ``2**-14`` (the taps are multiples of
    ``2**-7``), so in float64 the result is exact whatever the summation order.
    """
    height, width = planes.shape[-2:]
    if coarse is None:
        return torch.zeros_like(planes)
    return upsample2(coarse[None].to(planes.dtype))[0, :, :height, :width]


_KERNEL_ROWS, _KERNEL_COLS = CONTEXT_RADIUS + 2, 2 * CONTEXT_RADIUS + 1
"""The first layer's convolution spans row offsets ``-3 .. 1`` (the neighbours above, the coarse
3x3 below) and column offsets ``-3 .. 3``."""


def _kernel_tap(channel: int, dr: int, dc: int) -> int:
    """Flat index in a ``(2, 5, 7)`` kernel of input ``channel`` at offset ``(dr, dc)``."""
    return (channel * _KERNEL_ROWS + dr + CONTEXT_RADIUS) * _KERNEL_COLS + dc + CONTEXT_RADIUS


class ContextModel(nn.Module):
    """Auto-regressive context model in raster order: per latent, a Laplace ``(mu, log_scale)``
    from the decoded latents before it.

    The input of a latent at ``(r, c)``: its 24 causal neighbours in the same plane
    (:data:`CAUSAL_OFFSETS`, zero outside the plane) and the 3x3 of the plane's coarse context
    (:func:`coarse_context`, the coarser plane, decoded before this one) around ``(r, c)``. A
    linear layer of these 33 values plus a bias, ReLU, ``layers - 1`` hidden linear layers with
    ReLU, and a linear output layer.

    :meth:`forward` evaluates every position at once: the first layer is one convolution over
    ``[plane, coarse context]`` whose 5x7 kernels hold the 24 + 9 weights (the rest zero).

    Shapes: ``planes (B, h, w)`` and ``coarse (B, h, w)`` -> ``(B, h * w, 2)``: per position
    (row-major) the location and log-scale (natural log, clamped to
    ``[LOG_SCALE_MIN, LOG_SCALE_MAX]`` by the caller).
    """

    def __init__(self, hidden: int = 16, layers: int = 2) -> None:
        super().__init__()
        self.hidden = hidden
        inputs = len(CAUSAL_OFFSETS) + len(COARSE_OFFSETS)
        bound = 0.5 / math.sqrt(inputs)
        self.spatial = nn.Parameter(torch.empty(hidden, len(CAUSAL_OFFSETS)).uniform_(-bound, bound))
        self.coarse = nn.Parameter(torch.empty(hidden, len(COARSE_OFFSETS)).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(hidden))
        self.mlp = nn.ModuleList([nn.Linear(hidden, hidden) for _ in range(layers - 1)])
        self.out = nn.Linear(hidden, 2)
        taps = [_kernel_tap(0, dr, dc) for dr, dc in CAUSAL_OFFSETS] + [_kernel_tap(1, dr, dc) for dr, dc in COARSE_OFFSETS]
        self.register_buffer("taps", torch.tensor(taps), persistent=False)
        with torch.no_grad():
            self.out.weight.mul_(0.1)
            self.out.bias.zero_()

    def kernel(self) -> torch.Tensor:
        """The first layer as convolution weights ``(hidden, 2, 5, 7)`` over ``[plane, coarse context]``:
        kernel row ``i`` is row offset ``i - 3``, column ``j`` column offset ``j - 3``."""
        weights = torch.cat([self.spatial, self.coarse], dim=1)
        flat = weights.new_zeros(self.hidden, 2 * _KERNEL_ROWS * _KERNEL_COLS).index_copy(1, self.taps, weights)
        return flat.view(self.hidden, 2, _KERNEL_ROWS, _KERNEL_COLS)

    def forward(self, planes: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        # channels-last: the convolution leaves rows of hidden features, so the later layers
        # are plain matrix products
        inputs = torch.stack([planes, coarse.expand_as(planes)], dim=1)
        inputs = F.pad(inputs, (CONTEXT_RADIUS, CONTEXT_RADIUS, CONTEXT_RADIUS, 1)).contiguous(memory_format=torch.channels_last)
        h = F.conv2d(inputs, self.kernel())
        batch, _, height, width = h.shape
        h = F.relu(h.permute(0, 2, 3, 1).reshape(batch, height * width, self.hidden) + self.bias)
        for layer in self.mlp:
            h = F.relu(layer(h))
        return self.out(h)


def context_macs_per_latent(hidden: int, layers: int) -> int:
    """Multiply-accumulates per latent of a :class:`ContextModel` (24 neighbours and 9 coarse samples in)."""
    return hidden * (len(CAUSAL_OFFSETS) + len(COARSE_OFFSETS)) + (layers - 1) * hidden * hidden + 2 * hidden


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

        The planes of one level (same size) go through the context model together, every
        position in one call (:meth:`ContextModel.forward`).
        """
        bits = grids[0].new_zeros(())
        for indices in self.level_planes:
            planes = torch.stack([grids[i] for i in indices])
            links = [self.coarse[i] for i in indices]
            coarse = None if links[0] is None else torch.stack([grids[j] for j in links])
            out = self.context(planes, coarse_context(coarse, planes))
            mu = out[..., 0].clamp(-VALUE_MAX, VALUE_MAX)
            log_scale = out[..., 1].clamp(LOG_SCALE_MIN, LOG_SCALE_MAX)
            bits = bits + laplace_bits(planes.reshape(mu.shape), mu, log_scale).sum()
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
    # each plane with a coarser one also upsamples that one for its coarse context
    coarse_contexts = sum(UPSAMPLING_MACS * h * w for p in planes if p.coarse is not None for h, w in [level_sizes[p.level]])
    parts = {
        "context": (context_macs_per_latent(context_hidden, context_layers) * latents + coarse_contexts) / pixels,
        "upsampling": upsampled / pixels,
        "synthesis": synthesis_macs_per_pixel(len(planes), hidden, channels, quantum_qubits),
    }
    return {**parts, "total": sum(parts.values())}
