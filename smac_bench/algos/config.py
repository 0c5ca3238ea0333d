"""Typed hyperparameters of the latent-context actor-critics (SMAC, oracle, offline PEARL) and their presets.

A config holds the *agent's* hyperparameters only. The schedule — how many offline updates,
how many online env steps, how often to evaluate — belongs to the harness, which passes it to
``Agent.train_offline(buffer, num_updates)`` / ``Agent.train_online(setting, num_env_steps)``.
The online fields here describe the *shape* of one online iteration (how many env steps per
task, how many gradient updates per iteration), i.e. the agent's update-to-data ratio.

Presets:

* ``smoke`` — tiny networks and batches; an update takes about a millisecond (tests).
* ``quick`` — medium networks, meaningful on a 2-core laptop CPU.
* ``standard`` — the agents of ``quick``; only the harness's schedule is longer (the reference runs).
* ``paper`` — the reference sizes of rlkit's SMAC / PEARL launchers (Pong et al. 2022), and their
  online iteration: 5 tasks x (400 prior + 600 posterior env steps), then 4,000 train steps x 4
  context mini-batches = 16,000 updates per 5,000 env steps.

Per family, ``encoder_buffer="family"`` follows the launcher of that domain (:data:`FAMILY_ENCODER_BUFFER`).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from smac_bench.algos.inputs import check_context_inputs, check_decoder_inputs, check_policy_inputs
from smac_bench.errors import UserError


@dataclass
class LatentACConfig:
    """Fields shared by every latent-context actor-critic."""

    latent_dim: int = 5
    """Dimension of the task variable ``z``."""
    encoder_hidden: tuple[int, ...] = (200, 200, 200)
    """Hidden widths of the context encoder MLP on single ``(s, a, r)`` transitions."""
    policy_hidden: tuple[int, ...] = (300, 300, 300)
    """Hidden widths of the tanh-Gaussian policy ``pi(a | s, z)``."""
    critic_hidden: tuple[int, ...] = (300, 300, 300)
    """Hidden widths of each of the twin critics ``Q_j(s, a, z)`` (and their target copies)."""
    policy_inputs: str = "observation"
    """What the policy sees of an observation (:data:`~smac_bench.algos.inputs.POLICY_INPUTS`); critics and
    decoder always read the observation itself."""
    context_inputs: str = "transition"
    """What the context encoder sees of a transition (:data:`~smac_bench.algos.inputs.CONTEXT_INPUTS`)."""
    policy_lr: float = 3e-4
    """Adam learning rate of the policy."""
    critic_lr: float = 3e-4
    """Adam learning rate of the critics."""
    context_lr: float = 3e-4
    """Adam learning rate of the context encoder (and reward decoder)."""
    tau: float = 0.005
    """Polyak rate of the target critics: ``target <- (1 - tau) target + tau online`` every update."""
    gamma: float = 0.99
    """Discount factor."""
    reward_scale: float = 5.0
    """Rewards are multiplied by this inside the Bellman target (not in the context or decoder)."""
    kl_weight: float = 0.1
    """Weight of ``KL(q(z | c) || N(0, I))`` in the encoder loss."""
    meta_batch: int = 4
    """Tasks per gradient update (drawn with replacement from the buffer's tasks)."""
    batch_size: int = 128
    """Transitions per task per update for the actor-critic (offline phase)."""
    context_size: int = 64
    """Context transitions per task per update for the encoder."""
    exploration_resample_period: int = 1
    """Env steps between fresh draws of ``z`` while exploring: online collection, the ``K`` exploration
    episodes and the final episode of protocol v2 (0: one ``z`` per episode). rlkit's
    ``exploration_resample_latent_period=1`` (``rlkit/torch/smac/base_config.py``, SMAC and PEARL
    configs alike), counted in env steps by ``rollout`` in ``rlkit/torch/smac/sampler.py``."""
    exploration_prior: str = "standard_normal"
    """Where exploration draws ``z`` (online prior-phase collection and protocol v2's ``K`` episodes).
    ``"standard_normal"``: ``N(0, I)``, redrawn every :attr:`exploration_resample_period` steps (rlkit).
    ``"table"``: one ``z`` per episode from a prior over the tasks the episode's first observation could host,
    fitted after every offline training call (:mod:`smac_bench.algos.table_prior`; a departure for
    sawyer-manip, where siblings share a table)."""
    table_prior_components: int = 6
    """Mixture components of the ``"table"`` prior; episode ``j`` acts on the ``j``-th most probable one."""
    table_prior_fit_steps: int = 3000
    """Full-batch Adam steps of each fit of the ``"table"`` prior (its NLL flattens out by about 2,000 on sawyer v2)."""
    replay_rewarded_above: float | None = None
    """Protocol v2's final episode acts again on the latents of the best-returning exploration episode whose
    reward rose above this value at some step (sawyer-manip: ``-1.0``, a step without success); rows where
    none did keep the posterior. ``None``: always the posterior (rlkit)."""


@dataclass
class SMACConfig(LatentACConfig):
    """SMAC: offline meta-training with an AWAC actor, then self-supervised online training."""

    decoder_hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the reward decoder ``r(s, a, z)``."""
    decoder_inputs: str = "observation"
    """What the reward decoder sees of an observation (:data:`~smac_bench.algos.inputs.DECODER_INPUTS`)."""
    decoder_loss: str = "mse"
    """``"mse"``: the reward decoder regresses the reward (rlkit: ``((reward_pred - r) ** 2).mean()`` in
    ``rlkit/torch/smac/smac.py``). ``"bernoulli"``: a departure for binary rewards in :attr:`binary_rewards`
    (sawyer-manip's success - 1): the decoder outputs a logit trained by cross-entropy and labels online
    rewards with their expectation; rare successes weigh more than under squared error."""
    binary_rewards: tuple[float, float] = (-1.0, 0.0)
    """``(low, high)``, the two reward values a ``"bernoulli"`` decoder tells apart."""
    awac_beta: float = 100.0
    """AWAC temperature: actor weights are ``softmax((Q - V) / beta)`` over the batch. rlkit's SMAC
    launchers use 100 (``trainer_kwargs.beta`` in ``rlkit/torch/smac/base_config.py``); on the
    cheetah-vel data that makes the weights nearly uniform (see ``baselines/awac-weights/``)."""
    awac_whiten: bool = False
    """Whiten the advantages over the batch before weighting: ``w = exp(((A - mean A) / (std A + 1e-5)) / beta)``,
    unnormalised, loss ``-sum_n w_n log pi`` — rlkit's ``normalize_over_batch="whiten"``
    (``rlkit/torch/smac/smac.py``). Off by default: the launchers keep ``normalize_over_batch=True``
    (the softmax)."""
    awac_advantage: str = "critic"
    """The actor's advantage ``A`` in the offline phase. ``"critic"``: ``min_j Q_j(s, a) - V(s)`` (AWAC, as
    rlkit). ``"episode_return"``: a departure for sparse rewards (sawyer-manip, :data:`FAMILY_SETTINGS`): the
    return of the offline episode the transition belongs to, under the task's reward, whitened within each
    task's rows of the batch and weighted ``exp(A / awac_beta)`` — advantage-weighted regression on
    Monte-Carlo returns with the task's batch mean as baseline. The critic only learns which approach leads
    to the right object by bootstrapping through a 200-step chain of -1 rewards; the episode's return says it
    at once. The online phase reads :attr:`online_awac_advantage`."""
    awac_per_task: bool = False
    """With ``"episode_return"`` weights (offline and online): rescale each task's weights in the batch to sum to
    its row count, so every task weighs the same. Off: a task whose rare successes whiten to large values
    outweighs the rest of the batch (see :func:`~smac_bench.algos.losses.episode_return_weights`)."""
    online_awac_advantage: str = "critic"
    """The actor's advantage in the online phase: ``"critic"`` (AWAC, as rlkit) or ``"episode_return"``: each
    online transition's episode return under its *stored* rewards (SMAC: the decoder's labels, the oracle: the
    env's), offline rows keeping theirs, whitened within each task's rows of the batch as offline. A departure
    for sawyer-manip, where a critic learnt from a 200-step chain of sparse rewards cannot rank transitions and
    its weights unlearn the offline policy (``baselines/sawyer-manip-remedies/``). An episode cut at a collection
    budget counts the rewards it got (sawyer's budgets are whole episodes)."""
    online_awac_beta: float | None = None
    """The temperature of the online phase's (critic) weights; ``None``: :attr:`awac_beta`. A departure for
    families whose offline weights come from episode returns at a sharp temperature (sawyer-manip's 0.3):
    applied to the critic's advantages online, that temperature puts the actor on a dozen transitions of
    512 (ESS 11-16, largest weight 0.35, ``baselines/sawyer-manip-standard/``)."""
    actor_likelihood: str = "tanh_gaussian"
    """The likelihood the actor's weighted fit maximises. ``"tanh_gaussian"``: the policy's own density at
    ``atanh(a)`` (rlkit's ``TanhNormal.log_prob``, actions clipped to ``±0.999999``). ``"action_gaussian"``: a
    departure for data whose actions sit at the bounds (sawyer-manip's scripted controllers: the gripper is at
    ``±1`` in half the steps, each arm axis in 4-7 %): a Gaussian around ``tanh(mean)`` in action space with
    the policy's ``exp(log_std)``. Told the task, the tanh-Gaussian fit of sawyer's own-aim actions stalls at
    squared error 0.47 with pre-tanh deviations of 0.7-3 (the ``atanh(±1)`` outliers); the action-space one
    reaches 0.15 in 3,000 updates (least squares 0.11). Sampling is unchanged (``tanh`` of a Gaussian)."""
    alpha: float = 0.0
    """Entropy coefficient in the Bellman target and actor loss (rlkit's SMAC uses 0)."""
    online_reparam_weight: float = 1.0
    """Online phase only: weight of the reparameterised ``-Q(s, a~pi)`` actor term added to AWAC."""
    online_tasks_per_iter: int = 5
    """Training tasks visited per online iteration, one env each, stepped as a batch (rlkit's ``num_tasks_sample``)."""
    online_prior_steps: int = 400
    """Env steps per visited task with ``z ~ p(z)`` re-drawn every :attr:`exploration_resample_period` steps
    (the last episode is cut at this budget; rlkit's ``num_steps_prior``). These rollouts also feed the
    encoder buffer."""
    online_posterior_steps: int = 600
    """Env steps per visited task with ``z ~ q(z | c)`` re-drawn every :attr:`exploration_resample_period` steps
    from a per-episode posterior (rlkit's ``num_extra_rl_steps_posterior``: RL replay only)."""
    online_updates_per_iter: int = 4000
    """Train steps after each online iteration's collection (rlkit's ``num_train_steps_per_itr``); each
    runs :attr:`online_context_minibatches` gradient updates."""
    online_context_minibatches: int = 1
    """Gradient updates per online train step. rlkit (``MetaRLAlgorithm.train`` in
    ``rlkit/core/meta_rl_algorithm.py``) draws one context of ``embedding_batch_size = 256``
    transitions per task and splits it into ``256 // embedding_mini_batch_size (64) = 4`` slices; each
    slice, with a fresh RL batch of the same tasks, is one update: 4,000 train steps = 16,000 updates."""
    online_batch_size: int = 256
    """Transitions per task per update in the online phase (offline and online data pooled)."""
    encoder_buffer: str = "family"
    """Where the encoder's contexts come from in the online phase (offline phase: the offline data either way).

    * ``"apart"`` — an encoder buffer kept apart from the RL replay: the offline data plus only the online
      rollouts drawn with ``z ~ prior``; posterior rollouts go to the RL replay only. rlkit's cheetah
      launcher (``examples/smac/cheetah.py``: ``use_rl_buffer_for_enc_buffer=False``; routing in
      ``MetaRLAlgorithm.train``, ``rlkit/core/meta_rl_algorithm.py``).
    * ``"pooled"`` — contexts from the RL replay (offline and every online rollout): rlkit's base config
      (``use_rl_buffer_for_enc_buffer=True``, ``rlkit/torch/smac/base_config.py``), kept by ``examples/smac/ant.py``.
    * ``"exploration"`` — routed as ``"apart"``, but the online phase's contexts (posterior rollouts and
      updates) come only from the task's online prior-``z`` rollouts once it has any (offline data until
      then). A departure from the launchers, measured as a remedy
      (``baselines/cheetah-vel-exploration-remedy/``): with 1,200 offline transitions a task and a few
      hundred online ones, ``"apart"`` contexts are
      mostly offline data, so the online phase trains the policy on offline-context ``z`` while
      protocol v2 scores it on exploration context. rlkit's cheetah launcher keeps only the last 400
      offline transitions in its encoder buffer (``encoder_buffer_start_end_idxs=[(-400, None)]``),
      so its prior rollouts soon dominate.
    * ``"family"`` — the launcher's choice for the env's task family, :data:`FAMILY_ENCODER_BUFFER`
      (resolved from the env's registered id when the online phase starts; other envs: ``"pooled"``).
    """
    rollout_context_size: int = 256
    """Context transitions per task to infer ``z`` for reward labels and posterior rollouts."""
    online_capacity: int = 20_000
    """Online-buffer capacity per task (a ring buffer; oldest transitions are overwritten)."""


@dataclass
class PEARLConfig(LatentACConfig):
    """Offline PEARL: SAC whose encoder learns through the critic loss plus the KL term."""

    alpha: float = 1.0
    """Entropy coefficient (PEARL: 1, with ``reward_scale`` setting the effective temperature)."""
    policy_mean_reg: float = 1e-3
    """Weight of ``mean(mu^2)`` on the policy's pre-tanh mean."""
    policy_std_reg: float = 1e-3
    """Weight of ``mean(log_std^2)`` on the policy's log standard deviation."""


FAMILY_ENCODER_BUFFER: dict[str, str] = {"cheetah-vel": "apart", "ant-dir": "pooled"}
"""``encoder_buffer="family"`` per task family: what rlkit's launcher for that domain does
(``examples/smac/cheetah.py`` sets ``use_rl_buffer_for_enc_buffer=False``, ``examples/smac/ant.py`` keeps the base
config's ``True``). Families rlkit has no launcher for fall back to the base config, ``"pooled"``."""
FAMILY_SETTINGS: dict[str, dict[str, Any]] = {
    "sawyer-manip": {"awac_advantage": "episode_return", "awac_whiten": True, "awac_beta": 0.3,
                     "actor_likelihood": "action_gaussian", "decoder_loss": "bernoulli", "kl_weight": 0.001,
                     "policy_lr": 1e-3, "context_lr": 1e-3, "online_awac_advantage": "episode_return",
                     "context_inputs": "hand", "decoder_inputs": "hand", "exploration_prior": "table",
                     "replay_rewarded_above": -1.0},
}
"""SMAC's (and so the oracle's) departures from rlkit for one task family, measured as remedies where the
faithful choices learn nothing (sawyer-manip: ``baselines/sawyer-manip-remedies/``); the other families run
rlkit's settings. Applied by :func:`for_family` when a run is configured for its env. Sawyer's encoder and
decoder see only the hand: with the object poses in view, ``z`` names a training table instead of placing a
goal (held-out success with the recipe's context 9.1 % against 3.6 %, paired over 5 seeds). It explores a new
table with a prior fitted to the tables of its data and acts again on the latent that earned reward."""


def for_family(config: Any, family: str | None) -> Any:
    """``config`` with :data:`FAMILY_SETTINGS` of ``family`` applied (SMAC configs only; others unchanged)."""
    changes = FAMILY_SETTINGS.get(family or "", {})
    return dataclasses.replace(config, **changes) if changes and isinstance(config, SMACConfig) else config


ENCODER_BUFFERS = ("family", "apart", "pooled", "exploration")
EXPLORATION_PRIORS = ("standard_normal", "table")


def resolve_encoder_buffer(choice: str, family: str | None) -> str:
    """``"apart"``, ``"pooled"`` or ``"exploration"``: ``choice``, or for ``"family"`` the launcher's choice."""
    if choice not in ENCODER_BUFFERS:
        raise UserError(f"encoder_buffer must be one of {', '.join(ENCODER_BUFFERS)}, not {choice!r}")
    if choice != "family":
        return choice
    return FAMILY_ENCODER_BUFFER.get(family or "", "pooled")


_SMOKE_NETS = dict(latent_dim=2, encoder_hidden=(32, 32), policy_hidden=(32, 32), critic_hidden=(32, 32),
                   meta_batch=2, batch_size=32, context_size=16)
_QUICK_NETS = dict(encoder_hidden=(128, 128), policy_hidden=(256, 256), critic_hidden=(256, 256),
                   meta_batch=4, batch_size=128, context_size=64)


def _quick_smac() -> SMACConfig:
    return SMACConfig(**_QUICK_NETS, online_tasks_per_iter=4, online_prior_steps=200, online_posterior_steps=200,
                      online_updates_per_iter=1200, online_batch_size=128, online_capacity=10_000)


def smac_preset(preset: str) -> SMACConfig:
    """:class:`SMACConfig` at ``smoke`` / ``quick`` / ``paper`` (the registry checks the name)."""
    return {
        # rlkit's online iteration: 5 tasks x (400 prior + 600 posterior steps), 4,000 train steps x 4
        # context mini-batches (examples/smac/*.py over rlkit/torch/smac/base_config.py).
        "paper": lambda: SMACConfig(online_context_minibatches=4),
        "quick": _quick_smac,
        "standard": _quick_smac,
        "smoke": lambda: SMACConfig(**_SMOKE_NETS, decoder_hidden=(16, 16), table_prior_fit_steps=200,
                                    online_tasks_per_iter=2,
                                    online_prior_steps=20, online_posterior_steps=20, online_updates_per_iter=20,
                                    online_batch_size=32, rollout_context_size=32, online_capacity=2_000),
    }[preset]()


def pearl_preset(preset: str) -> PEARLConfig:
    """:class:`PEARLConfig` at ``smoke`` / ``quick`` / ``paper`` (the registry checks the name)."""
    return {"paper": PEARLConfig, "quick": lambda: PEARLConfig(**_QUICK_NETS),
            "standard": lambda: PEARLConfig(**_QUICK_NETS),
            "smoke": lambda: PEARLConfig(**_SMOKE_NETS)}[preset]()


C = TypeVar("C", bound=LatentACConfig)
D = TypeVar("D")


def config_to_dict(config: LatentACConfig) -> dict[str, Any]:
    """JSON-ready dict of a config (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def config_from_dict(values: Mapping[str, Any], cls: type[D]) -> D:
    """The dataclass ``cls`` from a dict of its fields (e.g. read back from JSON, where tuples became lists).

    Raises :class:`UserError` naming unknown fields.
    """
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise UserError(f"unknown {cls.__name__} field(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    return cls(**{k: tuple(v) if "tuple" in str(hints[k]) else v for k, v in values.items()})


def coerce_config(config: Any, cls: type[C]) -> C:
    """Accept a ``cls`` instance, or a dict of its fields (e.g. read back from JSON); validate sizes.

    Raises :class:`UserError` naming unknown fields or non-positive sizes.
    """
    if isinstance(config, cls):
        out = dataclasses.replace(config)
    elif isinstance(config, dict):
        out = config_from_dict(config, cls)
    else:
        raise UserError(f"expected a {cls.__name__} (or a dict of its fields), got {type(config).__name__}")
    for f in fields(out):
        v = getattr(out, f.name)
        if (isinstance(v, int) and not isinstance(v, bool) and v <= 0
                and f.name not in ("online_posterior_steps", "exploration_resample_period")):
            raise UserError(f"{cls.__name__}.{f.name} must be positive, got {v}")
    check_policy_inputs(out.policy_inputs, f"{cls.__name__}.")
    check_context_inputs(out.context_inputs, f"{cls.__name__}.")
    if out.exploration_resample_period < 0:
        period = out.exploration_resample_period
        raise UserError(f"{cls.__name__}.exploration_resample_period must be >= 0, got {period}")
    if out.exploration_prior not in EXPLORATION_PRIORS:
        raise UserError(f"{cls.__name__}.exploration_prior must be one of {', '.join(EXPLORATION_PRIORS)}, "
                        f"not {out.exploration_prior!r}")
    if isinstance(out, SMACConfig):
        resolve_encoder_buffer(out.encoder_buffer, None)  # refuses unknown choices
        check_decoder_inputs(out.decoder_inputs, "SMACConfig.")
        if out.decoder_loss not in ("mse", "bernoulli"):
            raise UserError(f"SMACConfig.decoder_loss must be mse or bernoulli, not {out.decoder_loss!r}")
        for name in ("awac_advantage", "online_awac_advantage"):
            if getattr(out, name) not in ("critic", "episode_return"):
                raise UserError(f"SMACConfig.{name} must be critic or episode_return, not {getattr(out, name)!r}")
        if out.actor_likelihood not in ("tanh_gaussian", "action_gaussian"):
            raise UserError(f"SMACConfig.actor_likelihood must be tanh_gaussian or action_gaussian, "
                            f"not {out.actor_likelihood!r}")
        if len(out.binary_rewards) != 2 or out.binary_rewards[0] == out.binary_rewards[1]:
            raise UserError(f"SMACConfig.binary_rewards must be two different values (low, high), "
                            f"got {out.binary_rewards!r}")
    return out
