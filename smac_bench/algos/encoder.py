"""Permutation-invariant context encoder ``q(z | c)`` and the reward decoder ``r(s, a, z)``.

Each context transition ``c_n = (s_n, a_n, r_n)`` is mapped by an MLP to a Gaussian factor
``N(mu_n, var_n)`` with ``var_n = softplus(.)``; the posterior over the task variable is their
normalised product (PEARL's information bottleneck), so it sharpens as context accumulates and
does not depend on the order of the transitions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.distributions import Normal
from torch.nn import functional as F

from smac_bench.algos.losses import product_of_gaussians
from smac_bench.algos.networks import init_last_layer_, inplace_relu, mlp


class ContextEncoder(nn.Module):
    """``q(z | c) = prod_n N(z; mu(c_n), softplus(sigma(c_n)))``, normalised; an MLP over single transitions."""

    def __init__(self, context_dim: int, hidden: Sequence[int], latent_dim: int,
                 inputs: nn.Module | None = None, input_dim: int | None = None,
                 place: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        super().__init__()
        self.context_dim, self.latent_dim = context_dim, latent_dim
        self.place = place
        """With it, the first ``place(c).shape[-1]`` factor means are ``place(c)``, not learned
        (:func:`smac_bench.algos.inputs.place_of_hand`)."""
        self.inputs = inputs if inputs is not None else nn.Identity()
        """A parameter-free view of each transition (:func:`smac_bench.algos.inputs.context_inputs`) of
        ``input_dim`` numbers (default ``context_dim``)."""
        self.net = init_last_layer_(mlp(input_dim or context_dim, hidden, 2 * latent_dim, inplace_relu))

    def factors(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-transition means and variances, each ``[T, C, L]``, for context ``[T, C, context_dim]``."""
        mu, pre_var = self.net(self.inputs(context)).chunk(2, dim=-1)
        if self.place is not None:
            fixed = self.place(context)
            mu = torch.cat([fixed, mu[..., fixed.shape[-1]:]], -1)
        return mu, F.softplus(pre_var)

    def posterior_params(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior means and variances ``[T, L]`` (product over the context axis)."""
        return product_of_gaussians(*self.factors(context), dim=-2)

    def forward(self, context: torch.Tensor) -> Normal:
        """``q(z | c)`` as a ``Normal`` of batch shape ``[T, L]``."""
        mu, var = self.posterior_params(context)
        return Normal(mu, var.sqrt())


class RewardDecoder(nn.Module):
    """``r_hat(s, a, z)``: an MLP predicting the (unscaled) reward of a transition in the task ``z``."""

    def __init__(self, obs_dim: int, act_dim: int, latent_dim: int, hidden: Sequence[int],
                 inputs: nn.Module | None = None, input_dim: int | None = None) -> None:
        super().__init__()
        self.inputs = inputs if inputs is not None else nn.Identity()
        """A parameter-free view of ``[obs, actions, z]`` (:func:`smac_bench.algos.inputs.decoder_inputs`) of
        ``input_dim`` numbers (default all ``obs_dim + act_dim + latent_dim``)."""
        self.net = init_last_layer_(mlp(input_dim or obs_dim + act_dim + latent_dim, hidden, 1, inplace_relu))

    def forward(self, obs: torch.Tensor, actions: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Rewards ``[..., 1]`` for matching leading shapes of ``obs``, ``actions`` and ``z``."""
        return self.net(self.inputs(torch.cat([obs, actions, z], dim=-1)))
