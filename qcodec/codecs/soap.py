"""SOAP: Adam run in the eigenbasis of a Shampoo preconditioner (Vyas et al. 2024).

For a weight whose gradient is reshaped to a matrix ``G (m, n)`` (a convolution's
``(out, in * kh * kw)``, a bias as ``(n, 1)``), SOAP keeps running averages of ``G G^T
(m, m)`` and ``G^T G (n, n)``, rotates each gradient into their eigenvectors ``Q_L, Q_R``,
runs Adam's second-moment scaling there and rotates the step back. Where Adam scales each
weight on its own, this scales along the directions in which the gradients are correlated;
Cool-chic 5.0.1 fits its networks with it. The eigenvectors are recomputed every
``precondition_frequency`` steps (a full ``eigh``: qcodec's decoder matrices are at most a few
dozen wide, so this costs microseconds).

The defaults are the ones qcodec's grid codec fits with: on four 256x256 Kodak crops at
lambda 0.004 and 1,000 steps, Adam's betas ``(0.9, 0.999)`` and ``shampoo_beta`` 0.99 cut the
rate-distortion cost by 2.5 % against Adam (every crop, two seeds), where the paper's
``(0.95, 0.95)`` and 0.95 gave 0.9 % and lost 7.6 % on one crop (``docs/notes/grid-log.md``).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class SOAP(torch.optim.Optimizer):
    """SOAP for small matrices (full eigendecompositions, no dimension cap).

    Args:
        params: parameters or parameter groups (each with its own ``lr``).
        lr: learning rate.
        betas: decay of the first moment and of the rotated second moment.
        shampoo_beta: decay of the running ``G G^T`` and ``G^T G``.
        eps: added to the square root of the second moment.
        precondition_frequency: steps between two eigendecompositions.
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter] | Iterable[dict],
        lr: float = 1e-2,
        betas: tuple[float, float] = (0.9, 0.999),
        shampoo_beta: float = 0.99,
        eps: float = 1e-8,
        precondition_frequency: int = 10,
    ) -> None:
        defaults = {"lr": lr, "betas": betas, "shampoo_beta": shampoo_beta, "eps": eps, "precondition_frequency": precondition_frequency}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # noqa: D102 (torch.optim.Optimizer.step)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.reshape(p.shape[0], -1) if p.dim() > 1 else p.grad.reshape(-1, 1)
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(grad)
                    state["exp_avg_sq"] = torch.zeros_like(grad)
                    state["gg_left"] = grad @ grad.T
                    state["gg_right"] = grad.T @ grad
                    state["q_left"], state["q_right"] = _eigenbases(state)
                state["step"] += 1
                step = state["step"]
                state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
                rotated = state["q_left"].T @ grad @ state["q_right"]
                state["exp_avg_sq"].mul_(beta2).addcmul_(rotated, rotated, value=1 - beta2)
                moment = state["q_left"].T @ state["exp_avg"] @ state["q_right"] / (1 - beta1**step)
                scale = (state["exp_avg_sq"] / (1 - beta2**step)).sqrt_().add_(group["eps"])
                update = state["q_left"] @ (moment / scale) @ state["q_right"].T
                p.add_(update.reshape(p.shape), alpha=-group["lr"])
                state["gg_left"].lerp_(grad @ grad.T, 1 - group["shampoo_beta"])
                state["gg_right"].lerp_(grad.T @ grad, 1 - group["shampoo_beta"])
                if step % group["precondition_frequency"] == 0:
                    state["q_left"], state["q_right"] = _eigenbases(state)


def _eigenbases(state: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvectors (columns, ascending eigenvalues) of the running ``G G^T`` and ``G^T G``."""
    return tuple(torch.linalg.eigh(state[key].double())[1].to(state[key].dtype) for key in ("gg_left", "gg_right"))
