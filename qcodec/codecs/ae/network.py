"""A convolutional autoencoder with a factorized prior (Balle et al., ICLR 2017 / 2018).

::

    x (B, 3, H, W) in [0, 1]
      --analysis g_a: 4 x [conv 5x5 stride 2, GDN] (last without GDN)-->  y (B, M, H/16, W/16)
      --quantize: round (training: uniform noise; straight-through rounding for g_s at the end)--> y_hat
      --synthesis g_s: 4 x [IGDN, transposed conv 5x5 stride 2]-->  x_hat (B, 3, H, W)
    rate: -log2 p(y_hat), p = per-channel non-parametric density (:class:`FactorizedDensity`)

``H`` and ``W`` must be multiples of :data:`STRIDE`; the codec pads and crops.

>>> model = FactorizedAutoencoder(channels=8, latent_channels=12)
>>> out = model(torch.rand(2, 3, 32, 48))
>>> tuple(out.x_hat.shape), tuple(out.likelihoods.shape)
((2, 3, 32, 48), (2, 12, 2, 3))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

STRIDE = 16
"""Total down-sampling factor of the analysis transform (four stride-2 convolutions)."""

RESIDUAL_INIT = 0.1
"""Initial scale of the last layer of each convolutional path (and of the synthesis' first,
which sees latents about ten times pixel values), so that at the start the
linear shortcuts (see :class:`FactorizedAutoencoder`) dominate and the convolutions learn
corrections to them."""

SKIP_OUTPUT_SCALE = 0.01
"""Fixed factor on the synthesis shortcut's output: latents are about ten times pixel values,
so its weights would otherwise be about 100 times smaller than the analysis shortcut's and
Adam's roughly scale-free steps would scramble them."""

LIKELIHOOD_BOUND = 1e-9
"""Lower bound on a symbol's likelihood during training (keeps ``-log2 p`` finite)."""


class GDN(nn.Module):
    """Generalized divisive normalization (Balle et al. 2016) over channels.

    ``y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)``; with ``inverse=True`` it
    multiplies instead (IGDN, used in the synthesis transform). ``beta`` and ``gamma``
    are kept non-negative by reparameterizing them as squares, as in CompressAI.

    Shapes: input and output ``(B, C, H, W)``.
    """

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6, gamma_init: float = 0.1) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta_bound = beta_min
        self.beta = nn.Parameter(torch.sqrt(torch.ones(channels) + beta_min**2))
        self.gamma = nn.Parameter(torch.sqrt(gamma_init * torch.eye(channels) + beta_min**2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta.clamp_min(math.sqrt(self.beta_bound)) ** 2
        gamma = self.gamma.abs() ** 2
        norm = F.conv2d(x * x, gamma[:, :, None, None], beta)
        return x * torch.sqrt(norm) if self.inverse else x * torch.rsqrt(norm)


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 5, stride=2, padding=2)


def _deconv(cin: int, cout: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, 5, stride=2, padding=2, output_padding=1)


class FactorizedDensity(nn.Module):
    """Balle et al. (2018, appendix 6.1) non-parametric density, one per latent channel.

    A monotone function ``c(v) = sigmoid(f_K(... f_1(v)))`` with
    ``f_k(v) = g_k(softplus(H_k) v + b_k)`` and ``g_k(v) = v + tanh(a_k) * tanh(v)``
    is each channel's cumulative distribution; the probability of an integer bin is
    ``c(k + 1/2) - c(k - 1/2)`` (the density convolved with a unit box, so uniform noise
    in training and rounding at test time see the same model).

    Args:
        channels: number of latent channels ``M``.
        filters: widths of the hidden layers of ``f`` (CompressAI's default ``(3, 3, 3, 3)``).
        init_scale: initial spread of each density, in latent units.
    """

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3, 3), init_scale: float = 10.0) -> None:
        super().__init__()
        widths = (1, *filters, 1)
        scale = init_scale ** (1.0 / (len(widths) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(widths) - 1):
            init = math.log(math.expm1(1.0 / scale / widths[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, widths[i + 1], widths[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, widths[i + 1], 1) - 0.5))
            if i < len(widths) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, widths[i + 1], 1)))

    def logits_cdf(self, values: torch.Tensor) -> torch.Tensor:
        """``f(values)``: the logit of each channel's CDF. Shapes: ``(C, 1, N)`` -> ``(C, 1, N)``."""
        logits = values
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            logits = torch.matmul(F.softplus(matrix), logits) + bias
            if i < len(self.factors):
                logits = logits + torch.tanh(self.factors[i]) * torch.tanh(logits)
        return logits

    def likelihood(self, y: torch.Tensor) -> torch.Tensor:
        """Probability mass of the unit bin around each value of ``y`` ``(B, C, h, w)``, same shape."""
        batch, channels, height, width = y.shape
        values = y.permute(1, 0, 2, 3).reshape(channels, 1, -1)
        lower = self.logits_cdf(values - 0.5)
        upper = self.logits_cdf(values + 0.5)
        # Evaluate in the tail where the sigmoid is small, for precision (Balle's sign trick).
        sign = -torch.sign(lower + upper).detach()
        mass = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        return mass.reshape(channels, batch, height, width).permute(1, 0, 2, 3)

    @torch.no_grad()
    def cdf(self, value: float) -> torch.Tensor:
        """Every channel's cumulative distribution at ``value``: ``(C,)`` float64."""
        logits = self.logits_cdf(torch.full((self.matrices[0].shape[0], 1, 1), float(value)))
        return torch.sigmoid(logits.double()).reshape(-1)

    @torch.no_grad()
    def bin_masses(self, lo: int, hi: int) -> torch.Tensor:
        """Mass of every integer ``lo..hi`` per channel: ``(C, hi - lo + 1)`` float64."""
        support = torch.arange(lo, hi + 1, dtype=torch.float32)
        channels = self.matrices[0].shape[0]
        values = support.expand(channels, 1, -1)
        lower = torch.sigmoid(self.logits_cdf(values - 0.5).double())
        upper = torch.sigmoid(self.logits_cdf(values + 0.5).double())
        return (upper - lower).clamp_min(0.0).squeeze(1)


@dataclass
class AutoencoderOutput:
    """What :meth:`FactorizedAutoencoder.forward` returns.

    Attributes:
        x_hat: reconstruction ``(B, 3, H, W)``, unclipped.
        likelihoods: probability of each (noisy) latent ``(B, M, H/16, W/16)``.
    """

    x_hat: torch.Tensor
    likelihoods: torch.Tensor


class FactorizedAutoencoder(nn.Module):
    """Balle et al.'s factorized-prior autoencoder (see the module docstring).

    Args:
        channels: ``N``, the width of the hidden transform layers.
        latent_channels: ``M``, the channels of the latent ``y``.
    """

    def __init__(self, channels: int = 32, latent_channels: int = 96) -> None:
        super().__init__()
        n, m = channels, latent_channels
        self.channels, self.latent_channels = n, m
        self.g_a = nn.Sequential(
            _conv(3, n), GDN(n), _conv(n, n), GDN(n), _conv(n, n), GDN(n), _conv(n, m),
        )
        self.g_s = nn.Sequential(
            _deconv(m, n), GDN(n, inverse=True), _deconv(n, n), GDN(n, inverse=True),
            _deconv(n, n), GDN(n, inverse=True), _deconv(n, 3),
        )
        self.a_skip = nn.Conv2d(3 * STRIDE * STRIDE, m, 1)
        self.s_skip = nn.Conv2d(m, 3 * STRIDE * STRIDE, 1)
        self.density = FactorizedDensity(m)
        with torch.no_grad():
            for layer in (self.g_a[-1], self.g_s[-1]):
                layer.weight.mul_(RESIDUAL_INIT)
                layer.bias.mul_(RESIDUAL_INIT)
            self.g_s[0].weight.mul_(0.1)  # its input, the latents, is about ten times pixel values

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """``g_a``: ``(B, 3, H, W) -> (B, M, H/16, W/16)`` float latents."""
        return self.g_a(x) + self.a_skip(F.pixel_unshuffle(x, STRIDE))

    def synthesis(self, y: torch.Tensor) -> torch.Tensor:
        """``g_s``: ``(B, M, H/16, W/16) -> (B, 3, H, W)``, unclipped."""
        return self.g_s(y) + F.pixel_shuffle(self.s_skip(y) * SKIP_OUTPUT_SCALE, STRIDE)

    def macs_per_pixel(self) -> dict[str, float]:
        """Multiply-accumulates per image pixel of ``analysis`` and ``synthesis`` (convolutions, GDNs, shortcuts)."""
        n, m = self.channels, self.latent_channels
        widths = [(3, n), (n, n), (n, n), (n, m)]
        fractions = [4.0**-k for k in range(1, 5)]  # pixels per image pixel after 1..4 halvings
        convs = sum(cin * cout * 25 * f for (cin, cout), f in zip(widths, fractions))
        gdns = sum(n * n * f for f in fractions[:3])
        shortcut = 3 * STRIDE * STRIDE * m / STRIDE**2
        return {"analysis": convs + gdns + shortcut, "synthesis": convs + gdns + shortcut}

    def forward(self, x: torch.Tensor, straight_through: bool = False) -> AutoencoderOutput:
        """Training pass: the rate always from noisy latents (``y + U(-1/2, 1/2)``).

        The synthesis sees the same noisy latents, or with ``straight_through=True`` the
        rounded ones with identity gradients (what the decoder will see; only useful once
        the latents are large: at initialisation they all round to 0).
        """
        y = self.analysis(x)
        noisy = y + torch.empty_like(y).uniform_(-0.5, 0.5)
        likelihoods = self.density.likelihood(noisy).clamp_min(LIKELIHOOD_BOUND)
        decoded = y + (torch.round(y) - y).detach() if straight_through else noisy
        return AutoencoderOutput(self.synthesis(decoded), likelihoods)

    @torch.no_grad()
    def analyse(self, x: torch.Tensor) -> torch.Tensor:
        """Integer latents ``(B, M, H/16, W/16)`` (``int32``) of ``x`` ``(B, 3, H, W)`` in ``[0, 1]``."""
        return torch.round(self.analysis(x)).to(torch.int32)

    @torch.no_grad()
    def synthesize(self, y_hat: torch.Tensor) -> torch.Tensor:
        """Reconstruction ``(B, 3, H, W)`` in ``[0, 1]`` from integer latents."""
        return self.synthesis(y_hat.to(torch.float32)).clamp(0.0, 1.0)


def rate_distortion_loss(
    output: AutoencoderOutput, target: torch.Tensor, lmbda: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CompressAI's loss ``lambda * 255^2 * MSE + bpp``.

    Returns:
        ``(loss, bpp, mse)``: bpp in bits per pixel, MSE on ``[0, 1]`` values.
    """
    batch, _, height, width = target.shape
    bpp = -torch.log2(output.likelihoods).sum() / (batch * height * width)
    mse = F.mse_loss(output.x_hat, target)
    return lmbda * 255.0**2 * mse + bpp, bpp, mse
