"""The maths of SMAC / PEARL against closed forms and torch.distributions."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.distributions import Normal, TanhTransform, TransformedDistribution, kl_divergence

from smac_bench.algos import losses
from smac_bench.algos.encoder import ContextEncoder
from smac_bench.algos.networks import EnsembleMLP, polyak_update


def test_product_of_gaussians_matches_pairwise_closed_form() -> None:
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(3, 7, 4, generator=g)
    var = torch.rand(3, 7, 4, generator=g) + 0.05
    post_mu, post_var = losses.product_of_gaussians(mu, var)
    # Fold the factors in one at a time with the two-Gaussian formula.
    m, v = mu[:, 0], var[:, 0]
    for c in range(1, 7):
        m2, v2 = mu[:, c], var[:, c]
        m, v = (m * v2 + m2 * v) / (v + v2), v * v2 / (v + v2)
    torch.testing.assert_close(post_mu, m)
    torch.testing.assert_close(post_var, v)


def test_product_of_gaussians_is_the_normalised_density_product() -> None:
    g = torch.Generator().manual_seed(1)
    mu, var = torch.randn(5, 1, generator=g), torch.rand(5, 1, generator=g) + 0.1
    post_mu, post_var = losses.product_of_gaussians(mu, var, dim=0)
    x = torch.linspace(-3, 3, 11)[:, None]
    log_prod = Normal(mu[:, 0], var[:, 0].sqrt()).log_prob(x).sum(-1)
    log_post = Normal(post_mu, post_var.sqrt()).log_prob(x)[:, 0]
    diff = log_prod - log_post  # constant in x when the product is proportional to the posterior
    torch.testing.assert_close(diff, diff[0].expand_as(diff), rtol=0, atol=1e-4)


def test_encoder_posterior_is_permutation_invariant_and_floored() -> None:
    torch.manual_seed(0)
    enc = ContextEncoder(6, (16,), 3)
    context = torch.randn(2, 9, 6)
    mu, var = enc.posterior_params(context)
    mu_p, var_p = enc.posterior_params(context[:, torch.randperm(9)])
    torch.testing.assert_close(mu, mu_p)
    torch.testing.assert_close(var, var_p)
    assert enc(context).batch_shape == (2, 3)
    _, tiny = losses.product_of_gaussians(torch.zeros(1, 2, 1), torch.zeros(1, 2, 1))
    torch.testing.assert_close(tiny, torch.full((1, 1), losses.MIN_FACTOR_VAR / 2))


def test_kl_matches_torch_distributions() -> None:
    g = torch.Generator().manual_seed(2)
    mu, var = torch.randn(4, 5, generator=g), torch.rand(4, 5, generator=g) + 0.01
    expected = kl_divergence(Normal(mu, var.sqrt()), Normal(torch.zeros(4, 5), torch.ones(4, 5)))
    torch.testing.assert_close(losses.kl_to_standard_normal(mu, var), expected)
    torch.testing.assert_close(losses.latent_kl_loss(mu, var, "mean"), expected.mean(0).sum())
    torch.testing.assert_close(losses.latent_kl_loss(mu, var, "sum"), expected.sum())
    with pytest.raises(ValueError):
        losses.latent_kl_loss(mu, var, "max")


def test_awac_weights_and_loss_match_hand_computation() -> None:
    q = torch.tensor([1.0, 3.0, -2.0, 0.5])
    v = torch.tensor([0.0, 1.0, 1.0, 0.5])
    beta = 2.0
    scores = [(qi - vi) / beta for qi, vi in zip(q.tolist(), v.tolist(), strict=True)]
    norm = sum(math.exp(s) for s in scores)
    expected = torch.tensor([math.exp(s) / norm for s in scores])
    w = losses.awac_weights(q, v, beta)
    torch.testing.assert_close(w, expected)
    log_prob = torch.tensor([-1.0, -0.5, -3.0, 0.2])
    # rlkit writes the same loss as mean(-logp * N * w).
    torch.testing.assert_close(losses.awac_policy_loss(log_prob, w), (-log_prob * len(w) * w).mean())
    assert not losses.awac_weights(q.requires_grad_(), v, beta).requires_grad


def test_tanh_gaussian_log_prob_matches_transformed_distribution() -> None:
    g = torch.Generator().manual_seed(3)
    mean, log_std = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g) * 0.5
    pre = torch.randn(6, 3, generator=g)
    dist = TransformedDistribution(Normal(mean, log_std.exp()), [TanhTransform()])
    expected = dist.log_prob(torch.tanh(pre)).sum(-1)
    torch.testing.assert_close(losses.tanh_gaussian_log_prob(pre, mean, log_std), expected, rtol=1e-4, atol=1e-4)
    a = torch.tensor([[1.0, -1.0, 0.3]])
    assert torch.isfinite(losses.atanh_clipped(a)).all()


def test_td_target_and_critic_loss() -> None:
    r, d = torch.tensor([[1.0], [2.0]]), torch.tensor([[0.0], [1.0]])
    next_q, next_logp = torch.tensor([[10.0], [10.0]]), torch.tensor([[2.0], [2.0]])
    y = losses.td_target(r, d, next_q, next_logp, gamma=0.9, reward_scale=5.0, alpha=0.5)
    torch.testing.assert_close(y, torch.tensor([[5.0 + 0.9 * 9.0], [10.0]]))
    q = torch.tensor([[[1.0], [2.0]], [[0.0], [0.0]]])
    expected = ((1 - y[0]) ** 2 + (2 - y[1]) ** 2) / 2 + (y[0] ** 2 + y[1] ** 2) / 2
    torch.testing.assert_close(losses.critic_loss(q, y), expected[0])


def test_ensemble_equals_independent_mlps_and_detach_blocks_weight_grads() -> None:
    torch.manual_seed(0)
    ens = EnsembleMLP(2, 5, (8, 8), 1)
    x = torch.randn(10, 5)
    out = ens(x)
    for e in range(2):
        torch.testing.assert_close(out[e], ens.member(e)(x))
    xg = x.clone().requires_grad_()
    ens(xg, detach_weights=True).sum().backward()
    assert xg.grad is not None and all(p.grad is None for p in ens.parameters())
    target = [nn.Parameter(torch.zeros(3)), nn.Parameter(torch.ones(3))]
    polyak_update([t.data for t in target], [torch.ones(3), torch.zeros(3)], 0.25)
    torch.testing.assert_close(target[0].data, torch.full((3,), 0.25))
    torch.testing.assert_close(target[1].data, torch.full((3,), 0.75))
