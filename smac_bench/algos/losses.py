"""The maths of SMAC / PEARL as small pure functions (no modules, no optimisers, no state).

Shapes: ``T`` tasks, ``C`` context transitions per task, ``N`` flattened transitions, ``L`` latent
dimensions, ``A`` action dimensions, ``E`` ensemble members.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

MIN_FACTOR_VAR = 1e-7
"""Floor on each per-transition factor's variance before the product (rlkit: ``clamp(min=1e-7)``)."""

ACTION_CLIP = 0.999999
"""Dataset actions are clipped to ``±ACTION_CLIP`` before ``atanh`` (rlkit's ``TanhNormal.log_prob``)."""


def product_of_gaussians(mu: torch.Tensor, var: torch.Tensor, dim: int = -2) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised product of independent Gaussian factors ``N(mu_c, var_c)`` along ``dim``.

    ``var = 1 / sum_c 1/var_c`` and ``mean = var * sum_c mu_c / var_c`` (precision-weighted mean);
    each ``var_c`` is floored at :data:`MIN_FACTOR_VAR`. For context ``[T, C, L]`` factors
    returns ``[T, L]`` posterior means and variances.
    """
    precision = var.clamp(min=MIN_FACTOR_VAR).reciprocal()
    post_var = precision.sum(dim).reciprocal()
    return post_var * (mu * precision).sum(dim), post_var


def kl_to_standard_normal(mu: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """Elementwise ``KL(N(mu, var) || N(0, 1)) = 0.5 * (var + mu^2 - 1 - log var)``."""
    return 0.5 * (var + mu.square() - 1.0 - var.log())


def latent_kl_loss(mu: torch.Tensor, var: torch.Tensor, task_reduction: str = "mean") -> torch.Tensor:
    """KL of task posteriors ``[T, L]`` to the prior, summed over ``L`` and reduced over tasks.

    ``task_reduction="mean"`` is SMAC's ``kl.mean(dim=0).sum()``; ``"sum"`` is PEARL's ``kl.sum()``.
    """
    per_task = kl_to_standard_normal(mu, var).sum(-1)
    if task_reduction == "mean":
        return per_task.mean()
    if task_reduction == "sum":
        return per_task.sum()
    raise ValueError(f"task_reduction must be 'mean' or 'sum', not {task_reduction!r}")


def reparam_sample(mu: torch.Tensor, std: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """``mu + std * eps`` with ``eps ~ N(0, I)`` drawn from ``generator`` (differentiable in ``mu``, ``std``)."""
    eps = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
    return mu + std * eps


def atanh_clipped(actions: torch.Tensor) -> torch.Tensor:
    """``atanh(clip(a, ±ACTION_CLIP))``: the pre-tanh value of an action in ``[-1, 1]``."""
    return torch.atanh(actions.clamp(-ACTION_CLIP, ACTION_CLIP))


def tanh_gaussian_log_prob(pre_tanh: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """``log pi(tanh(u))`` for ``u ~ N(mean, exp(log_std))``, summed over the last (action) axis.

    Change of variables: ``log N(u) - sum log(1 - tanh(u)^2)``, with the stable identity
    ``log(1 - tanh(u)^2) = 2 * (log 2 - u - softplus(-2u))``.
    """
    z = (pre_tanh - mean) * torch.exp(-log_std)
    log_normal = -0.5 * z.square() - log_std - 0.5 * math.log(2 * math.pi)
    log_det = 2.0 * (math.log(2.0) - pre_tanh - F.softplus(-2.0 * pre_tanh))
    return (log_normal - log_det).sum(-1)


def action_gaussian_log_prob(actions: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """``log N(a; tanh(mean), exp(log_std))`` in action space, summed over the last axis: the likelihood
    ``actor_likelihood="action_gaussian"`` fits. Actions at the bounds (``±1``) are ordinary targets here,
    where the tanh-Gaussian's ``atanh`` makes them outliers at ``±7.25``."""
    z = (actions - torch.tanh(mean)) * torch.exp(-log_std)
    return (-0.5 * z.square() - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


def td_target(rewards: torch.Tensor, terminals: torch.Tensor, next_q: torch.Tensor, next_log_pi: torch.Tensor,
              gamma: float, reward_scale: float, alpha: float) -> torch.Tensor:
    """Soft Bellman target ``y = scale * r + (1 - d) * gamma * (min_j Q'_j(s', a') - alpha * log pi(a'|s'))``.

    ``next_q`` is already the minimum over the target critics; all inputs ``[N, 1]`` (or broadcastable).
    """
    return reward_scale * rewards + (1.0 - terminals) * gamma * (next_q - alpha * next_log_pi)


def critic_loss(q: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sum over ensemble members of the mean squared TD error: ``sum_e mean_n (Q_e(n) - y(n))^2``.

    ``q`` is ``[E, N, 1]``, ``target`` ``[N, 1]`` (treated as a constant). Equals rlkit's
    ``qf1_loss + qf2_loss``.
    """
    return (q - target.detach()).square().mean(dim=(1, 2)).sum()


def awac_weights(q_data: torch.Tensor, v_pi: torch.Tensor, beta: float) -> torch.Tensor:
    """Advantage weights ``w = softmax_n((Q(s_n, a_n) - V(s_n)) / beta)`` over the whole batch.

    ``q_data`` is ``min_j Q_j`` at dataset actions and ``v_pi`` is ``min_j Q_j`` at a policy sample;
    both ``[N]`` (or ``[N, 1]``); the weights sum to one over ``N`` and carry no gradient.
    """
    score = (q_data - v_pi).reshape(-1).detach()
    return torch.softmax(score / beta, dim=0)


def awac_whitened_weights(q_data: torch.Tensor, v_pi: torch.Tensor, beta: float) -> torch.Tensor:
    """rlkit's ``normalize_over_batch="whiten"``: ``w = exp(((A - mean A) / (std A + 1e-5)) / beta)``, ``A = Q - V``.

    Unnormalised, as in rlkit: :func:`awac_policy_loss` is then about ``N`` times the softmax loss
    (Adam's steps hardly depend on that scale; the online ``-Q`` term's relative weight does). No
    gradient. Whitening makes ``beta`` a temperature in units of the batch's advantage spread, so the
    weights select whatever the scale of ``Q``.
    """
    score = (q_data - v_pi).reshape(-1).detach()
    return torch.exp((score - score.mean()) / (score.std() + 1e-5) / beta)


def episode_return_weights(returns: torch.Tensor, beta: float, per_task: bool = False) -> torch.Tensor:
    """``w = exp(((G - mean G) / (std G + 1e-5)) / beta)``, whitened within each task: ``returns`` is ``[T, B, 1]``
    (the return of each transition's episode); ``[T * B]`` weights, unnormalised as
    :func:`awac_whitened_weights`, no gradient. A task whose rows share one return weighs them all 1.

    ``per_task``: each task's weights are rescaled to sum to ``B``, so every task of the batch weighs the same
    (unnormalised, a task whose few rows of a rare success whiten to large values outweighs the others)."""
    g = returns.reshape(returns.shape[0], -1).detach().double()
    whitened = (g - g.mean(1, keepdim=True)) / (g.std(1, keepdim=True) + 1e-5)
    if per_task:
        weights = torch.softmax(whitened / beta, 1) * g.shape[1]
    else:
        weights = torch.exp(whitened / beta)
    return weights.reshape(-1).to(returns.dtype)


def weight_stats(weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(max, ESS)`` of a batch's actor weights, normalised to sum to one: the largest share one
    transition gets (uniform: ``1/N``) and the effective sample size ``(sum w)^2 / sum w^2`` (uniform: ``N``)."""
    w = weights.detach().reshape(-1)
    total = w.sum()
    return w.max() / total, total.square() / w.square().sum()


def awac_policy_loss(log_prob_data: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Advantage-weighted log-likelihood: ``-sum_n w_n log pi(a_n | s_n)`` (= rlkit's ``mean(-logp * N * w)``)."""
    return -(log_prob_data.reshape(-1) * weights.detach()).sum()


def mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error (the reward decoder's loss against the dataset's unscaled rewards)."""
    return (prediction - target).square().mean()


def bernoulli_reward_loss(logits: torch.Tensor, rewards: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Cross-entropy of a binary reward in ``{low, high}`` under ``P(high) = sigmoid(logits)``."""
    return F.binary_cross_entropy_with_logits(logits, (rewards - low) / (high - low))


def bernoulli_reward_mean(logits: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """The expected reward ``low + (high - low) sigmoid(logits)`` (what a Bernoulli decoder labels with)."""
    return low + (high - low) * torch.sigmoid(logits)


def sac_policy_loss(log_pi: torch.Tensor, q_pi: torch.Tensor, alpha: float) -> torch.Tensor:
    """SAC actor loss ``mean(alpha * log pi(a~|s) - min_j Q_j(s, a~))`` for a reparameterised ``a~``."""
    return (alpha * log_pi.reshape(-1) - q_pi.reshape(-1)).mean()


def gaussian_regulariser(mean: torch.Tensor, log_std: torch.Tensor, mean_weight: float,
                         std_weight: float) -> torch.Tensor:
    """PEARL's policy regulariser ``mean_weight * mean(mu^2) + std_weight * mean(log_std^2)``."""
    return mean_weight * mean.square().mean() + std_weight * log_std.square().mean()
