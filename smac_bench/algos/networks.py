"""Network building blocks shared by every agent.

* :func:`mlp` — a plain fully connected network (``nn.Sequential`` of ``nn.Linear``).
* :class:`EnsembleMLP` — ``E`` independent MLPs evaluated by one batched matmul per layer
  (``torch.baddbmm`` on weights ``[E, in, out]``); used for twin Q-functions so both critics
  (and their target copies) cost one kernel call per layer instead of two.
* :class:`TanhGaussianPolicy` — ``a = tanh(u)``, ``u ~ N(mu(x), sigma(x))``.
* :func:`polyak_update` — ``target <- (1 - tau) target + tau online``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
"""Clamp of the policy's log standard deviation (rlkit's ``LOG_SIG_MIN/MAX``)."""


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int,
        activation: Callable[[], nn.Module] = nn.ReLU) -> nn.Sequential:
    """A fully connected network ``in_dim -> hidden... -> out_dim`` with ``activation`` between layers."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), activation()]
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


def inplace_relu() -> nn.Module:
    """``nn.ReLU(inplace=True)``: safe after ``nn.Linear`` (whose backward never reads its output); saves a copy."""
    return nn.ReLU(inplace=True)


def init_last_layer_(net: nn.Sequential, bound: float = 3e-3) -> nn.Sequential:
    """Initialise the last ``nn.Linear`` of ``net`` uniformly in ``[-bound, bound]`` (rlkit's ``init_w``).

    Small initial outputs keep early Q-values, policy means and encoder factors near zero.
    """
    last = [m for m in net if isinstance(m, nn.Linear)][-1]
    nn.init.uniform_(last.weight, -bound, bound)
    nn.init.uniform_(last.bias, -bound, bound)
    return net


class EnsembleMLP(nn.Module):
    """``members`` independent ReLU MLPs ``in_dim -> hidden... -> out_dim`` evaluated together.

    Layer ``l`` holds ``weight_l [E, in, out]`` and ``bias_l [E, 1, out]``; the forward pass is
    ``h_{l+1} = relu(bias_l + h_l @ weight_l)`` as one ``torch.baddbmm`` over the ensemble axis.
    Member ``e`` is initialised exactly like an ``nn.Linear`` stack (uniform in ``±1/sqrt(fan_in)``),
    except the last layer, which uses ``±last_init`` (rlkit's small output init).
    """

    def __init__(self, members: int, in_dim: int, hidden: Sequence[int], out_dim: int,
                 last_init: float = 3e-3) -> None:
        super().__init__()
        self.members, self.in_dim, self.out_dim = members, in_dim, out_dim
        dims = [in_dim, *hidden, out_dim]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            bound = last_init if i == len(dims) - 2 else 1.0 / math.sqrt(fan_in)
            self.weights.append(nn.Parameter(torch.empty(members, fan_in, fan_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(members, 1, fan_out).uniform_(-bound, bound)))

    def forward(self, x: torch.Tensor, detach_weights: bool = False) -> torch.Tensor:
        """Outputs ``[E, N, out]`` for inputs ``[N, in]`` (shared by all members) or ``[E, N, in]``.

        ``detach_weights=True`` evaluates the members with their weights treated as constants:
        gradients flow to ``x`` only. Used for ``Q(s, a_pi(s))`` in an actor loss so that a single
        backward pass over a summed loss never leaks actor gradients into the critic.
        """
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.members, *x.shape)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if detach_weights:
                w, b = w.detach(), b.detach()
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = x.relu_()  # in place is safe: baddbmm's backward needs its inputs, not its output
        return x

    def member(self, e: int) -> nn.Sequential:
        """Member ``e`` as an equivalent stand-alone ``nn.Sequential`` (a copy; for tests and export)."""
        hidden = [w.shape[-1] for w in self.weights[:-1]]
        net = mlp(self.in_dim, hidden, self.out_dim)
        linears = [m for m in net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for lin, w, b in zip(linears, self.weights, self.biases, strict=True):
                lin.weight.copy_(w[e].T)
                lin.bias.copy_(b[e, 0])
        return net


class TanhGaussianPolicy(nn.Module):
    """``pi(a | x)``: ``a = tanh(u)`` with ``u ~ N(mu(x), exp(log_std(x)))``, one MLP with a ``2 * act_dim`` head.

    ``log_std`` is clamped to ``[LOG_STD_MIN, LOG_STD_MAX]``. Actions lie in ``(-1, 1)``.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], act_dim: int, last_init: float = 1e-3,
                 inputs: nn.Module | None = None) -> None:
        super().__init__()
        self.act_dim = act_dim
        self.inputs = inputs if inputs is not None else nn.Identity()
        """A parameter-free transform of ``x`` before the first layer (:mod:`smac_bench.algos.inputs`)."""
        self.net = init_last_layer_(mlp(in_dim, hidden, 2 * act_dim, inplace_relu), last_init)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, log_std)`` of the pre-tanh Gaussian, each ``[..., act_dim]``."""
        mean, log_std = self.net(self.inputs(x)).chunk(2, dim=-1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)


@torch.no_grad()
def polyak_update(target: Iterable[torch.Tensor], online: Iterable[torch.Tensor], tau: float) -> None:
    """In place: ``target <- (1 - tau) * target + tau * online`` for matching tensors."""
    target, online = list(target), list(online)
    torch._foreach_lerp_(target, online, tau)
