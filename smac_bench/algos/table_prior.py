"""A learned prior over the tasks a scene could host, ``p(z | s_0)``, to explore a new scene with.

A departure from rlkit, which explores with ``z ~ N(0, I)`` (``rlkit/torch/smac/sampler.py``), for families
whose tasks share scenes (sawyer-manip: siblings share a table and differ only in what the observation
cannot show). The first observation ``s_0`` says which tasks a scene *could* host, though not which one is
meant; the prior is a mixture of diagonal Gaussians over ``z`` from a small MLP on ``s_0``, fitted by maximum
likelihood to the offline tasks' posterior means (each from :data:`FIT_CONTEXT` of the task's offline
transitions) paired with the first observation of the task's offline data. It needs no task labels: only
the encoder, the data and the scenes.

Exploration episode ``j`` acts on the mean of the ``j``-th most probable component for its ``s_0`` (one ``z``
per episode). As sawyer-manip's rule (with the final episode acting again on a latent that earned reward) its
exploration scores a success in 6.3 % of held-out runs against 1.9 % with ``N(0, I)``, and held-out success
rose from 0.9 % to 6.3 % (paired +5.5 pp [+3.5, +7.5], 5 seeds, ``baselines/README.md``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from smac_bench.algos.inputs import place_of_hand
from smac_bench.algos.networks import mlp
from smac_bench.data.buffer import MultiTaskBuffer

FIT_CONTEXT = 400
"""Offline transitions per task whose posterior mean is the fit's target: two sawyer episodes' worth, as the
``K = 2`` exploration episodes give."""
FIT_CHUNK = 100
"""Tasks whose contexts go through the encoder at once (memory: 1,200 tasks x 400 transitions in one pass
would hold ~0.4 GB per hidden layer)."""


class TablePrior(nn.Module):
    """``p(z | s_0)``: mixture weights, means and log standard deviations of ``components`` diagonal Gaussians.

    ``s_0`` is whitened by the fit's statistics (buffers ``obs_mean`` / ``obs_std``, checkpointed with the weights);
    with ``place``, the net reads :meth:`ScenePlaces.shape` as it is (flags, yaws, joints and opening, all of
    order one) and the statistics go unused.
    """

    def __init__(self, obs_dim: int, latent_dim: int, components: int, hidden: int = 128,
                 place: bool = False) -> None:
        super().__init__()
        self.components, self.latent_dim = components, latent_dim
        self.anchors = ScenePlaces() if place else None
        """With a latent place (``context_inputs="hand-place"``): each component's place is a mixture of the
        scene's object positions and the hand's, plus an offset, both from what ``s_0`` shows apart from where
        things stand; a new table cell then moves the places with its objects."""
        width = self.anchors.width if self.anchors else 0
        self.net = mlp(self.anchors.shape_dim if self.anchors else obs_dim, (hidden, hidden),
                       components * (1 + 2 * latent_dim + width))
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))

    def forward(self, first_obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log mixture weights ``[N, K]``, means and log standard deviations ``[N, K, L]`` for ``s_0 [N, obs_dim]``."""
        k, latent = self.components, self.latent_dim
        if self.anchors is None:
            out = self.net((first_obs - self.obs_mean) / self.obs_std)
            logits, rest = out[:, :k], out[:, k:].reshape(-1, k, 2, latent)
            return torch.log_softmax(logits, -1), rest[:, :, 0], rest[:, :, 1].clamp(-5, 2)
        out = self.net(self.anchors.shape(first_obs))
        logits, rest = out[:, :k], out[:, k:].reshape(-1, k, 2 * latent + self.anchors.width)
        mean, log_std, pick = rest[..., :latent], rest[..., latent:2 * latent], rest[..., 2 * latent:]
        positions, present = self.anchors.positions(first_obs)  # [N, A, 3], [N, A]
        weights = torch.softmax(pick.masked_fill(~present[:, None], -torch.inf), -1)
        place = place_of_hand(weights @ positions) + mean[..., :3]
        return torch.log_softmax(logits, -1), torch.cat([place, mean[..., 3:]], -1), log_std.clamp(-5, 2)

    def nll(self, first_obs: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of latents ``z [N, L]`` given their scenes' ``s_0 [N, obs_dim]``."""
        log_w, mean, log_std = self(first_obs)
        component = torch.distributions.Normal(mean, log_std.exp()).log_prob(z[:, None]).sum(-1)
        return -torch.logsumexp(log_w + component, -1).mean()

    @torch.no_grad()
    def ranked_mean(self, first_obs: torch.Tensor, rank: int | torch.Tensor) -> torch.Tensor:
        """``[N, L]``: the mean of each row's ``rank``-th most probable component (``rank`` one for all or ``[N]``;
        cycling past the last)."""
        log_w, mean, _ = self(first_obs)
        rows = torch.arange(len(mean), device=mean.device)
        ranks = torch.as_tensor(rank, device=mean.device).expand(len(mean)) % self.components
        return mean[rows, torch.argsort(log_w, -1, descending=True)[rows, ranks]]


class ScenePlaces(nn.Module):
    """What a Sawyer first observation shows, split into where things stand (the hand and each present object:
    :meth:`positions`) and the rest (presence flags, yaws, joints, the hand's opening: :meth:`shape`)."""

    def __init__(self) -> None:
        super().__init__()
        from smac_bench.envs.sawyer.env import SLOT_SIZE, SLOT_START  # lazily: the env module imports MuJoCo

        self.starts = tuple(SLOT_START.values())
        self.width = 1 + len(self.starts)
        self.shape_dim = 1 + len(self.starts) * (SLOT_SIZE - 3)

    def positions(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        points = torch.stack([obs[:, 0:3]] + [obs[:, s + 1:s + 4] for s in self.starts], 1)
        present = torch.cat([torch.ones_like(obs[:, :1]), *(obs[:, s:s + 1] for s in self.starts)], 1) > 0.5
        return points, present

    def shape(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.cat([obs[:, 3:4]] + [torch.cat([obs[:, s:s + 1], obs[:, s + 4:s + 7]], 1) for s in self.starts], 1)


def first_observations(buffer: MultiTaskBuffer) -> torch.Tensor:
    """``[T, obs_dim]``: each task's first stored observation (a recipe stores a task's episodes in order, so
    it is the reset of the task's first episode)."""
    return buffer.obs[:, 0]


@torch.no_grad()
def posterior_means(encoder: nn.Module, buffer: MultiTaskBuffer, size: int,
                    generator: torch.Generator) -> torch.Tensor:
    """``[T, L]``: the posterior mean of ``size`` offline transitions of each of the buffer's tasks."""
    context = buffer.sample_context(buffer.task_ids, size, generator)
    return torch.cat([encoder.posterior_params(context[s:s + FIT_CHUNK])[0]
                      for s in range(0, len(context), FIT_CHUNK)])


def fit_table_prior(prior: TablePrior, first_obs: torch.Tensor, z: torch.Tensor, seed: int,
                    steps: int) -> list[float]:
    """Fit ``prior`` from fresh weights (drawn from ``seed``) to ``z [T, L]`` given ``first_obs [T, obs_dim]``;
    returns the negative log-likelihood every 1,000 steps and at the end (diagnostics)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for layer in prior.net:
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()
    prior.obs_mean.copy_(first_obs.mean(0))
    prior.obs_std.copy_(first_obs.std(0).clamp_min(1e-3) if len(first_obs) > 1 else torch.ones_like(prior.obs_std))
    optimizer = torch.optim.Adam(prior.net.parameters(), lr=1e-3)
    trace = []
    for step in range(steps):
        loss = prior.nll(first_obs, z)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 1000 == 0 or step == steps - 1:
            trace.append(float(loss.detach()))
    return trace


def replay_choice(returns: np.ndarray, max_rewards: np.ndarray, above: float) -> np.ndarray:
    """``[N]``: per row, the exploration episode to act again in the final episode (the best-returning one whose
    reward rose above ``above`` at some step), or ``-1`` where none did. ``returns`` and ``max_rewards``: ``[N, K]``."""
    earned = max_rewards > above
    best = np.where(earned, returns, -np.inf).argmax(1)
    return np.where(earned.any(1), best, -1)
