"""SOAP: Adam in the eigenbasis of the gradients' Kronecker factors."""

import torch

from qcodec.codecs.soap import SOAP


def _run(optimizer_cls, grads: list[torch.Tensor], **kwargs) -> torch.Tensor:
    """The parameter after one step per gradient in ``grads``, starting at zero."""
    p = torch.nn.Parameter(torch.zeros_like(grads[0]))
    optimizer = optimizer_cls([p], **kwargs)
    for g in grads:
        p.grad = g.clone()
        optimizer.step()
    return p.detach()


def test_on_a_single_weight_it_is_adam() -> None:
    grads = [torch.randn(1, generator=torch.Generator().manual_seed(i), dtype=torch.float64) for i in range(25)]
    kwargs = {"lr": 0.01, "betas": (0.9, 0.99), "eps": 1e-8}
    soap = _run(SOAP, grads, precondition_frequency=3, **kwargs)
    torch.testing.assert_close(soap, _run(torch.optim.Adam, grads, **kwargs), rtol=1e-12, atol=1e-15)


def test_it_is_equivariant_to_rotations_where_adam_is_not() -> None:
    """Gradients ``U G V^T`` (``U``, ``V`` orthogonal) give steps ``U S V^T``: SOAP's scaling follows
    the gradients' principal directions, not the coordinate axes (Adam fails this)."""
    gen = torch.Generator().manual_seed(0)
    u = torch.linalg.qr(torch.randn(4, 4, generator=gen, dtype=torch.float64))[0]
    v = torch.linalg.qr(torch.randn(4, 4, generator=gen, dtype=torch.float64))[0]
    scales = torch.tensor([[4.0, 1.0, 0.5, 0.2]], dtype=torch.float64)
    # square gradients: the first one's Kronecker factors are already full rank, so no
    # eigenvalue is degenerate and the eigenbases are unique up to sign
    grads = [torch.randn(4, 4, generator=gen, dtype=torch.float64) * scales for _ in range(30)]
    rotated = [u @ g @ v.T for g in grads]
    for cls, kwargs in ((SOAP, {"precondition_frequency": 1}), (torch.optim.Adam, {})):
        plain, turned = _run(cls, grads, lr=0.01, **kwargs), _run(cls, rotated, lr=0.01, **kwargs)
        error = float((turned - u @ plain @ v.T).abs().max() / plain.abs().max())
        assert (error < 1e-6) == (cls is SOAP), (cls.__name__, error)


def test_convolution_weights_are_preconditioned_as_out_by_in_times_kernel_matrices() -> None:
    conv = torch.nn.Conv2d(4, 6, 3)
    optimizer = SOAP(conv.parameters(), lr=0.01)
    conv(torch.randn(2, 4, 8, 8)).square().mean().backward()
    optimizer.step()
    state = optimizer.state[conv.weight]
    assert state["q_left"].shape == (6, 6) and state["q_right"].shape == (36, 36)
    assert optimizer.state[conv.bias]["q_left"].shape == (6, 6)
