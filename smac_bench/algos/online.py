"""The online (self-supervised) phase shared by SMAC and the oracle.

One online iteration (rlkit's ``MetaRLAlgorithm`` loop, vectorised over tasks):

1. draw ``online_tasks_per_iter`` training tasks (with replacement) and give each its own env;
2. *prior* rollouts: exactly ``online_prior_steps`` steps per env (episodes; the last one is cut
   at the budget), with ``z ~ N(0, I)`` re-drawn every ``exploration_resample_period`` steps, or one ``z``
   per episode from a ``"table"`` prior (the agent's :class:`~smac_bench.algos.exploration.ExplorationPolicy`,
   the rule protocol v2 evaluates with);
3. *posterior* rollouts: likewise ``online_posterior_steps`` steps with ``z`` re-drawn as often from
   ``q(z | c)``, ``c`` a fresh context of the task per episode from the encoder's sources (offline
   data plus the ``"encoder"`` online data, below);
4. every new transition gets the reward the agent's ``label_rewards`` returns — SMAC: the frozen
   decoder's ``r_hat(s, a, z_label)``, ``z_label ~ q(z | c_offline)`` drawn once per episode from
   *offline* context of the same task; the oracle: the env's reward — and enters the RL replay
   (``"online"``); with ``encoder_buffer="apart"`` the prior rollouts also enter the encoder buffer
   and the posterior rollouts do not (rlkit's cheetah launcher), with ``"pooled"`` the encoder reads
   the RL replay; ``"exploration"`` routes as ``"apart"`` and reads a task's online prior rollouts alone
   once it has any (a measured departure, see :class:`~smac_bench.algos.config.SMACConfig`);
5. ``online_updates_per_iter`` train steps of ``online_context_minibatches`` actor-critic updates each
   on offline + online data, encoder/decoder frozen.

Known difference from rlkit: its posterior phase (``collect_exploration_data`` with
``update_posterior_period=1``) runs its *first* episode with ``z ~ prior`` (no context yet) and infers
the posterior from the encoder buffer only for later ones; here every posterior-phase episode uses
the posterior.

All envs of an iteration are stepped in lock-step and their actions come from one batched policy call.
The phase talks to the agent only through :class:`OnlineLearner`'s public members.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from smac_bench.algos import losses
from smac_bench.algos.base import OnlineSetting
from smac_bench.algos.config import SMACConfig, resolve_encoder_buffer
from smac_bench.algos.exploration import ExplorationPolicy
from smac_bench.data.buffer import MultiTaskBuffer, episode_totals
from smac_bench.errors import UserError


# ---------------------------------------------------------------------- rollouts
@dataclass
class Rollout:
    """Transitions of one collection phase, flattened over envs (env ``i``'s steps are contiguous).

    ``true_rewards`` are kept for diagnostics only (label error, returns); what the learner stores
    is ``labels``, filled in by the agent's ``label_rewards``.
    """

    task_ids: np.ndarray
    obs: np.ndarray
    actions: np.ndarray
    next_obs: np.ndarray
    terminals: np.ndarray
    true_rewards: np.ndarray
    label_z: np.ndarray
    episode_ids: np.ndarray
    """``[N]`` the episode each row belongs to (distinct within the rollout)."""
    episode_returns: list[float] = field(default_factory=list)
    """True returns of the episodes that ended (diagnostic)."""
    labels: np.ndarray | None = None

    def labelled_returns(self) -> np.ndarray:
        """``[N, 1]`` each row's episode return under :attr:`labels` (an episode cut at the budget: its rows' sum).

        An episode's rows are contiguous (env by env, in step order), so it starts where the id changes.
        """
        assert self.labels is not None
        ids = torch.as_tensor(self.episode_ids)
        starts = torch.ones(len(ids), dtype=torch.bool)
        starts[1:] = ids[1:] != ids[:-1]
        episode, totals = episode_totals(torch.as_tensor(self.labels), starts)
        return totals[episode].numpy().astype(np.float32)[:, None]


class OnlineLearner(Protocol):
    """What the online phase needs of an agent (SMAC and the oracle implement it)."""

    config: SMACConfig
    obs_dim: int
    act_dim: int
    latent_dim: int
    device: torch.device
    generator: torch.Generator
    """Training randomness: contexts, latents and policy samples of the rollouts."""
    np_rng: np.random.Generator
    """Env seeds and the tasks visited."""
    online_buffer: MultiTaskBuffer | None
    """The RL replay of online rollouts."""
    encoder_buffer: MultiTaskBuffer | None
    """Online prior-``z`` rollouts for the encoder's contexts (``encoder_buffer="apart"`` only)."""
    exploration: ExplorationPolicy
    """How ``z`` is drawn while collecting (the rule evaluation uses too)."""
    last_rollouts: list[Rollout]
    num_env_steps: int

    def check_buffer(self, buffer: MultiTaskBuffer) -> None:
        """``ValueError`` unless the offline buffer fits the agent."""

    def sample_contexts(self, sources: Mapping[str, MultiTaskBuffer], slots: torch.Tensor, n: int) -> torch.Tensor:
        """Encoder contexts ``[T, n, dim]`` of ``slots`` from the named buffers, by the agent's rule."""

    def posterior_params(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Means and variances ``[T, L]`` of ``q(z | c)`` for context ``[T, C, dim]``."""

    def exploration_latents(self, first_obs: np.ndarray, episode: int | torch.Tensor) -> torch.Tensor:
        """``[N, L]``: the ``"table"`` exploration prior's latents of episodes that began at ``first_obs``."""

    def sample_actions(self, obs: torch.Tensor, z: torch.Tensor, deterministic: bool,
                       generator: torch.Generator) -> torch.Tensor:
        """Policy actions ``[N, act_dim]`` for ``obs [N, obs_dim]`` and ``z [N, L]``."""

    def label_rewards(self, rollout: Rollout) -> np.ndarray:
        """The reward stored for each transition of ``rollout`` (``[N]`` or ``[N, 1]``)."""

    def train_updates(self, sources: Mapping[str, MultiTaskBuffer], num_updates: int, batch_size: int,
                      is_online: bool, context_minibatches: int = 1) -> dict[str, float]:
        """Train steps of ``context_minibatches`` gradient updates on the named buffers; mean diagnostics."""


def _posterior(agent: OnlineLearner, sources: Mapping[str, MultiTaskBuffer],
               task_ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Means and standard deviations of ``q(z | c)`` per task, ``c`` drawn by the agent's context rule
    (:meth:`OnlineLearner.sample_contexts`) from the named ``sources``."""
    slots = sources["offline"].slots(task_ids)
    context = agent.sample_contexts(sources, slots, agent.config.rollout_context_size)
    mu, var = agent.posterior_params(context)
    return mu, var.sqrt()


@torch.no_grad()
def collect(agent: OnlineLearner, envs: list, task_ids: np.ndarray, quota: int, use_posterior: bool,
            offline: MultiTaskBuffer, encoder_online: MultiTaskBuffer) -> Rollout:
    """Exactly ``quota`` steps on every env, in episodes; one batched policy call per step.

    ``z`` is redrawn every ``agent.exploration.resample_period`` steps of an episode (0: once), from
    the prior or, with ``use_posterior``, from ``q(z | c)`` with ``c`` drawn from ``offline`` and
    ``encoder_online`` (the online data the encoder reads) at each episode's start. With the ``"table"``
    exploration prior, a prior-phase episode acts on the agent's ``exploration_latents`` for its first
    observation, the ``j``-th episode of an env on the ``j``-th most probable task of its scene.

    An env whose episode ends early (Ant falls) starts another; the episode running when the quota
    is reached is cut there (not marked terminal), so every phase collects exactly its budget.
    """
    n_env, latent = len(envs), agent.latent_dim
    obs = np.zeros((n_env, agent.obs_dim), dtype=np.float32)
    mu_pol = torch.zeros(n_env, latent, device=agent.device)
    std_pol = torch.ones(n_env, latent, device=agent.device)
    z_label = torch.zeros(n_env, latent, device=agent.device)
    z_pol = torch.zeros(n_env, latent, device=agent.device)
    period = agent.exploration.resample_period
    steps, ep_steps, ep_return = np.zeros(n_env, dtype=np.int64), np.zeros(n_env, dtype=np.int64), np.zeros(n_env)
    active = np.ones(n_env, dtype=bool)
    per_env: list[list[tuple]] = [[] for _ in range(n_env)]
    returns: list[float] = []
    episode_of = np.zeros(n_env, dtype=np.int64)
    episodes_begun = 0
    env_episodes = np.zeros(n_env, dtype=np.int64)  # episodes each env began in this call
    table_prior = agent.exploration.prior == "table" and not use_posterior

    def begin(idx: list[int]) -> None:
        nonlocal episodes_begun
        for i in idx:
            episode_of[i] = episodes_begun
            episodes_begun += 1
            seed = int(agent.np_rng.integers(2**31 - 1))
            obs[i], _ = envs[i].reset(seed=seed, options={"task_id": int(task_ids[i])})
            ep_return[i] = 0.0
            ep_steps[i] = 0
        tasks = [int(task_ids[i]) for i in idx]
        mu, std = _posterior(agent, {"offline": offline}, tasks)  # label z: offline context only
        z_label[idx] = losses.reparam_sample(mu, std, agent.generator)
        if use_posterior:
            mu_pol[idx], std_pol[idx] = _posterior(agent, {"offline": offline, "encoder": encoder_online}, tasks)
        elif table_prior:
            mu_pol[idx] = agent.exploration_latents(obs[idx], torch.as_tensor(env_episodes[idx]))
            std_pol[idx] = 0.0
        env_episodes[idx] += 1

    begin(list(range(n_env)))
    while active.any():
        idx = np.flatnonzero(active)
        redraw = idx[ep_steps[idx] % period == 0] if period else idx[ep_steps[idx] == 0]
        if redraw.size:
            z_pol[redraw] = losses.reparam_sample(mu_pol[redraw], std_pol[redraw], agent.generator)
        z = z_pol[idx]
        obs_t = torch.as_tensor(obs[idx], device=agent.device)
        actions = agent.sample_actions(obs_t, z, False, agent.generator).cpu().numpy()
        labels_z = z_label[idx].cpu().numpy()
        restart = []
        for j, i in enumerate(idx):
            next_obs, reward, terminated, truncated, _ = envs[i].step(actions[j])
            per_env[i].append((obs[i].copy(), actions[j], next_obs, float(terminated), float(reward), labels_z[j],
                               episode_of[i]))
            steps[i] += 1
            ep_steps[i] += 1
            ep_return[i] += reward
            if terminated or truncated:
                returns.append(float(ep_return[i]))
            if steps[i] >= quota:
                active[i] = False
            elif terminated or truncated:
                restart.append(int(i))
            else:
                obs[i] = next_obs
        if restart:
            begin(restart)
    rows = [row for env_rows in per_env for row in env_rows]
    *floats, episode_ids = zip(*rows, strict=True)
    cols = [np.asarray(c, dtype=np.float32) for c in floats]
    return Rollout(
        task_ids=np.repeat(np.asarray(task_ids, dtype=np.int64), [len(r) for r in per_env]),
        obs=cols[0], actions=cols[1], next_obs=cols[2], terminals=cols[3][:, None],
        true_rewards=cols[4][:, None], label_z=cols[5], episode_ids=np.asarray(episode_ids, dtype=np.int64),
        episode_returns=returns,
    )


def _store(buffer: MultiTaskBuffer, rollout: Rollout) -> None:
    """Append a labelled rollout to the online buffer, env by env (steps of one env stay in order), with each
    row's labelled episode return where the buffer keeps returns."""
    assert rollout.labels is not None
    returns = rollout.labelled_returns() if buffer.episode_returns is not None else None
    start = 0
    tids = rollout.task_ids
    while start < len(tids):
        end = start
        while end < len(tids) and tids[end] == tids[start]:
            end += 1
        sl = slice(start, end)
        buffer.add(int(tids[start]), rollout.obs[sl], rollout.actions[sl], rollout.labels[sl],
                   rollout.next_obs[sl], rollout.terminals[sl], None if returns is None else returns[sl])
        start = end


# ---------------------------------------------------------------------- the phase
def family_of(env: object) -> str | None:
    """The smac-bench task family whose registered env id ``env`` was made from; ``None`` if none."""
    from smac_bench.envs import FAMILIES

    spec = getattr(env, "spec", None)
    env_id = getattr(spec, "id", None)
    for family in FAMILIES.values():
        if env_id == family.env_id:
            return family.name
    return None


def train_online(agent: OnlineLearner, setting: OnlineSetting, num_env_steps: int) -> dict[str, float]:
    """Run whole online iterations until at least ``num_env_steps`` env steps were collected.

    Returns mean metrics: ``env_steps`` (collected in this call), ``episodes``, ``episode_return``
    (true env return, diagnostic), ``label_abs_error`` (``|label - true reward|``, diagnostic) and
    the averaged update losses. Resuming from a checkpoint taken between calls continues identically.
    """
    cfg = agent.config
    offline = setting.offline
    agent.check_buffer(offline)
    tasks = [int(t) for t in setting.task_ids]
    missing = sorted(set(tasks) - set(offline.task_ids))
    if missing:
        raise UserError(f"online tasks {missing} have no offline data; SMAC labels rewards with z inferred "
                        "from offline context of the same task, so online tasks must be in the offline buffer")
    weigh_returns = cfg.online_awac_advantage == "episode_return"
    if weigh_returns and offline.episode_returns is None:
        offline.keep_episode_returns()
    if agent.online_buffer is None:
        agent.online_buffer = MultiTaskBuffer(offline.task_ids, cfg.online_capacity, agent.obs_dim, agent.act_dim,
                                              agent.device, with_episode_returns=weigh_returns, grow=True)
    elif agent.online_buffer.task_ids != offline.task_ids:
        raise ValueError("the offline buffer's tasks changed since this agent's online phase started")
    elif weigh_returns and agent.online_buffer.episode_returns is None:
        raise UserError("online_awac_advantage='episode_return' needs an online buffer that kept episode returns; "
                        "this agent's online phase began without them: start the online phase again")
    online = agent.online_buffer
    envs = [setting.make_env() for _ in range(cfg.online_tasks_per_iter)]
    apart = resolve_encoder_buffer(cfg.encoder_buffer, family_of(envs[0])) in ("apart", "exploration")
    if apart and agent.encoder_buffer is None:
        agent.encoder_buffer = MultiTaskBuffer(offline.task_ids, cfg.online_capacity, agent.obs_dim,
                                               agent.act_dim, agent.device, grow=True)
    encoder_online = agent.encoder_buffer if apart else online
    assert encoder_online is not None
    sources = {"offline": offline, "online": online, "encoder": encoder_online}
    collected, returns, label_err, update_stats, iterations = 0, [], [], {}, 0
    try:
        while collected < num_env_steps:
            task_ids = agent.np_rng.choice(np.asarray(tasks), size=len(envs), replace=True)
            agent.last_rollouts = []
            for quota, use_posterior in ((cfg.online_prior_steps, False), (cfg.online_posterior_steps, True)):
                if quota <= 0:
                    continue
                rollout = collect(agent, envs, task_ids, quota, use_posterior, offline, encoder_online)
                rollout.labels = np.asarray(agent.label_rewards(rollout), dtype=np.float32).reshape(-1, 1)
                _store(online, rollout)
                if apart and not use_posterior:  # posterior rollouts: RL replay only
                    _store(encoder_online, rollout)
                agent.last_rollouts.append(rollout)
                collected += len(rollout.obs)
                returns += rollout.episode_returns
                label_err.append(np.abs(rollout.labels - rollout.true_rewards).mean())
            stats = agent.train_updates(sources, cfg.online_updates_per_iter, cfg.online_batch_size,
                                        is_online=True, context_minibatches=cfg.online_context_minibatches)
            for k, v in stats.items():
                update_stats[k] = update_stats.get(k, 0.0) + v
            iterations += 1
    finally:
        for env in envs:
            env.close()
    agent.num_env_steps += collected
    out = {"env_steps": float(collected), "episodes": float(len(returns)), "encoder_buffer_apart": float(apart),
           "episode_return": float(np.mean(returns)) if returns else float("nan"),
           "label_abs_error": float(np.mean(label_err)) if label_err else float("nan")}
    out.update({k: v / max(iterations, 1) for k, v in update_stats.items()})
    return out
