"""The speed baseline of issue #4: the offline update of rlkit's ``SmacTrainer``, rebuilt op for op.

rlkit itself cannot be installed here (it is not on PyPI), so this module redoes the work of
``rlkit/torch/smac/smac.py::SmacTrainer.train_from_torch`` with its defaults from
``rlkit/torch/smac/base_config.py`` (alpha 0, no entropy tuning, AWR with ``awr_min_q``, no
reparameterised term, the encoder trained by the reward decoder and KL only), written for this
benchmark. What it keeps from rlkit, because it costs time:

- separate ``qf1``/``qf2``/``target_qf1``/``target_qf2`` networks (two matmul chains each, not one batched);
- the agent's forward runs the context encoder twice, once with ``obs`` and once with ``next_obs``,
  with a Python loop over tasks for the product of Gaussians;
- ``Q(s, a~)`` is computed twice with autograd graphs (``q_new_actions`` and ``v_pi``);
- three backward calls (context, qf1, qf2 with ``retain_graph``) and a fourth for the policy, four
  Adam optimisers, and a soft target update parameter by parameter.

It leaves out what rlkit does outside the update (replay-buffer sampling, NumPy-to-torch copies,
statistics), so this baseline is if anything faster than rlkit: ratios against it are conservative.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal, kl_divergence

from smac_bench.algos.losses import atanh_clipped
from smac_bench.algos.networks import LOG_STD_MAX, LOG_STD_MIN, mlp


class _Policy(nn.Module):
    """rlkit's ``TanhGaussianPolicy``: a ReLU trunk, then separate mean and log-std heads."""

    def __init__(self, in_dim: int, hidden: list[int], act_dim: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(mlp(in_dim, hidden[:-1], hidden[-1]), nn.ReLU())
        self.mean, self.log_std = nn.Linear(hidden[-1], act_dim), nn.Linear(hidden[-1], act_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.mean(h), self.log_std(h).clamp(LOG_STD_MIN, LOG_STD_MAX).exp()


def _tanh_log_prob(normal: Normal, pre_tanh: torch.Tensor) -> torch.Tensor:
    """rlkit's ``TanhNormal._log_prob_from_pre_tanh``, summed over action dimensions."""
    correction = 2.0 * (math.log(2.0) - pre_tanh - F.softplus(-2.0 * pre_tanh))
    return (normal.log_prob(pre_tanh) - correction).sum(-1)


class RlkitPatternSMAC:
    """One rlkit-style SMAC offline update per :meth:`update` on ``[T, B, ...]`` tensors."""

    def __init__(self, obs_dim: int, act_dim: int, latent_dim: int = 5, hidden: int = 300,
                 encoder_hidden: int = 200, decoder_hidden: int = 64, lr: float = 3e-4, beta: float = 100.0,
                 kl_lambda: float = 0.1, reward_scale: float = 5.0, discount: float = 0.99, tau: float = 5e-3,
                 device: str = "cpu") -> None:
        q_in = obs_dim + act_dim + latent_dim
        self.latent_dim, self.beta, self.kl_lambda = latent_dim, beta, kl_lambda
        self.reward_scale, self.discount, self.tau = reward_scale, discount, tau
        self.encoder = mlp(obs_dim + act_dim + 1, [encoder_hidden] * 3, 2 * latent_dim).to(device)
        self.decoder = mlp(q_in, [decoder_hidden] * 2, 1).to(device)
        self.policy = _Policy(obs_dim + latent_dim, [hidden] * 3, act_dim).to(device)
        self.qf1, self.qf2, self.target_qf1, self.target_qf2 = (
            mlp(q_in, [hidden] * 3, 1).to(device) for _ in range(4))
        self.prior = Normal(torch.zeros(latent_dim, device=device), torch.ones(latent_dim, device=device))
        self.policy_opt = torch.optim.Adam(self.policy.parameters(), lr=lr)
        self.qf1_opt = torch.optim.Adam(self.qf1.parameters(), lr=lr)
        self.qf2_opt = torch.optim.Adam(self.qf2.parameters(), lr=lr)
        self.context_opt = torch.optim.Adam([*self.encoder.parameters(), *self.decoder.parameters()], lr=lr)

    def _posterior(self, context: torch.Tensor) -> Normal:
        params = self.encoder(context)
        mu, var = params[..., :self.latent_dim], F.softplus(params[..., self.latent_dim:])
        means, variances = [], []
        for m, v in zip(torch.unbind(mu), torch.unbind(var), strict=True):  # rlkit loops over tasks
            v = v.clamp(min=1e-7)
            task_var = 1.0 / torch.reciprocal(v).sum(0)
            means.append(task_var * (m / v).sum(0))
            variances.append(task_var)
        return Normal(torch.stack(means), torch.stack(variances).sqrt())

    def _agent(self, obs: torch.Tensor, context: torch.Tensor) -> tuple[Normal, Normal, torch.Tensor]:
        posterior = self._posterior(context)
        task_z = posterior.rsample()
        t, b, _ = obs.shape
        task_z = torch.cat([z.repeat(b, 1) for z in task_z], 0)
        mean, std = self.policy(torch.cat([obs.reshape(t * b, -1), task_z.detach()], 1))
        return Normal(mean, std), posterior, task_z

    def update(self, obs: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor, next_obs: torch.Tensor,
               terminals: torch.Tensor, context: torch.Tensor) -> None:
        dist, posterior, task_z = self._agent(obs, context)
        z = task_z.detach()
        pre = dist.rsample()
        new_actions, log_pi = torch.tanh(pre), _tanh_log_prob(dist, pre).unsqueeze(1)
        next_dist, _, _ = self._agent(next_obs, context)
        t, b, _ = obs.shape
        obs, actions, next_obs = obs.reshape(t * b, -1), actions.reshape(t * b, -1), next_obs.reshape(t * b, -1)
        rewards, terminals = rewards.reshape(t * b, 1), terminals.reshape(t * b, 1)

        q1_pred = self.qf1(torch.cat([obs, actions, z], 1))
        q2_pred = self.qf2(torch.cat([obs, actions, z], 1))
        next_pre = next_dist.rsample()
        next_actions, next_log_pi = torch.tanh(next_pre), _tanh_log_prob(next_dist, next_pre).unsqueeze(1)
        with torch.no_grad():
            next_in = torch.cat([next_obs, next_actions, z], 1)
            target_q = torch.min(self.target_qf1(next_in), self.target_qf2(next_in)) - 0.0 * next_log_pi
        q_target = self.reward_scale * rewards + (1.0 - terminals) * self.discount * target_q
        qf1_loss, qf2_loss = F.mse_loss(q1_pred, q_target.detach()), F.mse_loss(q2_pred, q_target.detach())

        kl = kl_divergence(posterior, self.prior).mean(0).sum()
        reward_pred = self.decoder(torch.cat([obs, actions, task_z], 1))
        context_loss = self.kl_lambda * kl + ((reward_pred - rewards) ** 2).mean()

        new_in = torch.cat([obs, new_actions, z], 1)
        q_new_actions = torch.min(self.qf1(new_in), self.qf2(new_in))  # noqa: F841  (rlkit computes it unused)
        v_pi = torch.min(self.qf1(new_in), self.qf2(new_in))
        score = torch.min(q1_pred, q2_pred) - v_pi
        weights = F.softmax(score / self.beta, dim=0)[:, 0]
        policy_logpp = _tanh_log_prob(dist, atanh_clipped(actions))
        policy_loss = 0.0 * log_pi.mean() + (-policy_logpp * len(weights) * weights.detach()).mean()

        self.context_opt.zero_grad()
        self.qf1_opt.zero_grad()
        self.qf2_opt.zero_grad()
        context_loss.backward(retain_graph=True)
        qf1_loss.backward(retain_graph=True)
        qf2_loss.backward()
        self.qf1_opt.step()
        self.qf2_opt.step()
        self.context_opt.step()
        self.policy_opt.zero_grad()
        policy_loss.backward()
        self.policy_opt.step()
        with torch.no_grad():
            for net, target in ((self.qf1, self.target_qf1), (self.qf2, self.target_qf2)):
                for p, tp in zip(net.parameters(), target.parameters(), strict=True):
                    tp.data.copy_(tp.data * (1.0 - self.tau) + p.data * self.tau)
