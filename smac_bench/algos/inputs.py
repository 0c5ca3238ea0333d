"""What a policy, the context encoder and SMAC's reward decoder see of their inputs: parameter-free
transforms before the first layer (issue #18).

* ``"observation"`` — the observation as the env gives it (every family's default; rlkit's choice).
* ``"hand-relative"`` — Sawyer only: every object's position becomes its offset from the hand, shrunk to at
  most :data:`HAND_RELATIVE_CLIP` metres (the direction is kept); the hand itself, the presence flags, yaws
  and joints stay as they are. A departure from rlkit, whose Sawyer policies read absolute positions.
  Why: held-out layouts put objects and goals in table cells training never uses, and a network fed
  absolute positions meets them off its training data. Offsets near an object look alike wherever it
  stands, and a far object only says which way to go. Measured on the told-task bound ``bc-task``
  (``baselines/sawyer-manip-remedies/README.md``).
* ``"hand-place"`` — Sawyer only: ``"hand-relative"``, the latent's place (below) an offset from the hand too, and
  the hand's x and y hidden.

The transform has no parameters, so a policy's state dict (and its checkpoints) do not change with it.

What the context encoder sees of a transition ``(s, a, r)`` (:func:`context_inputs`):

* ``"transition"`` — all of it (every family's default; rlkit's ``(o, a, r)``: ``context_encoder_input_dim``
  in ``rlkit/torch/smac/launcher_util.py``).
* ``"hand"`` — Sawyer only: the hand's position and opening, the action and the reward; no object. A departure
  from rlkit. Why: a sawyer-manip layout's object poses name the table, so an encoder that sees them can
  identify a training task by table and by which sibling's episodes score, a lookup that says nothing on a
  new table. Without them a success step can only say where the hand was when it scored, a place on the
  table that carries over to new layouts.
* ``"hand-place"`` — as ``"hand"``, and each transition's factor puts the latent's place
  (:func:`latent_place`) where the hand is; only its precision is learned, so the posterior's place is a
  weighted mean of the context's hand positions, in a new table cell as in a known one.

What SMAC's reward decoder sees of ``(o, a, z)`` (:func:`decoder_inputs`): ``"observation"`` (all of it;
rlkit's reward predictor), ``"hand"`` (Sawyer only: of ``o`` the hand's position and opening; the action and
``z`` whole) or ``"hand-place"`` (Sawyer only: the hand's distance from the latent's place, its opening, the
action and the rest of ``z``). Why: a decoder that sees the objects can predict a training task's reward by
table, which lets ``z`` name the task instead of placing where it scores.

The latent's place (``"hand-place"`` inputs of the decoder and the policy; a departure from rlkit, whose ``z``
has no structure): the first three numbers of ``z`` are a point on the table, :func:`latent_place`. A decoder
that reads only the hand's distance from it predicts the same reward at the same distance anywhere, so the
encoder must put the place where the task scores; and a policy that reads the offset (as the told bound
``bc-task`` reads its goal's), blind to where on the table the hand is, meets a goal in a cell training never
used as a familiar offset. Why: a ``z`` without it names the training tasks' goals as a lookup table, which a
new table's goal is not in (``baselines/sawyer-manip-remedies/README.md``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from smac_bench.errors import UserError

POLICY_INPUTS = ("observation", "hand-relative", "hand-place")
CONTEXT_INPUTS = ("transition", "hand", "hand-place")
DECODER_INPUTS = ("observation", "hand", "hand-place")
HAND_WIDTH = 4
"""Leading numbers of a Sawyer observation that describe the hand: position and opening."""
HAND_RELATIVE_CLIP = 0.1
"""Longest offset a hand-relative input shows (m): ten steps of the hand at full speed."""
PLACE_CENTRE = (0.0, 0.675, 0.15)
"""The latent's place at ``z = 0`` (m): the middle of the hand's reach over the table."""
PLACE_SCALE = 0.25
"""Metres per unit of the latent's place, so that ``N(0, I)`` spans the table."""


def latent_place(z: torch.Tensor) -> torch.Tensor:
    """The point on the table (m) that the first three numbers of ``z`` name."""
    return z[..., :3] * PLACE_SCALE + z.new_tensor(PLACE_CENTRE)


def place_of_hand(x: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`latent_place` for the hand of each row of ``x`` (a Sawyer observation or context
    transition, or any ``[..., 3+]`` whose first three numbers are a point): the latent's first three numbers."""
    return (x[..., :3] - x.new_tensor(PLACE_CENTRE)) / PLACE_SCALE


class PlaceLast(nn.Module):
    """``[x, z]`` -> ``[x, z[3:], place(z)]``: the latent's place moved to the end, in metres, where
    :class:`HandRelative` with ``told_goal`` reads a goal point."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x[..., -self.latent_dim:]
        return torch.cat([x[..., :-self.latent_dim], z[..., 3:], latent_place(z)], -1)


class HideHandOnTable(nn.Module):
    """Zeros the hand's x and y (the first two numbers): after :class:`HandRelative` everything else the policy
    sees of a Sawyer scene is an offset from the hand, so the policy cannot tell one table cell from another."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.zeros_like(x[..., :2]), x[..., 2:]], -1)


class HandPlace(nn.Module):
    """The decoder's ``[o, a, z]`` -> ``[|hand - place(z)|, opening, a, z[3:]]`` (Sawyer observations).

    The distance, not the offset: a decoder that saw the offset could shift the place by whatever the rest of
    ``z`` says, and the place would not have to be where the task scores (measured: on seed 2 it missed reach
    goals by 28 cm, as far as guessing). Rewarded where the hand is near one point, only that point as the
    place gives the same prediction at every hand position the same distance away."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        from smac_bench.envs.sawyer.env import OBS_DIM  # lazily: the env module imports MuJoCo

        self.obs_dim, self.latent_dim = OBS_DIM, latent_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x[..., -self.latent_dim:]
        distance = (x[..., :3] - latent_place(z)).norm(dim=-1, keepdim=True)
        return torch.cat([distance, x[..., 3:HAND_WIDTH], x[..., self.obs_dim:-self.latent_dim], z[..., 3:]], -1)


class HandRelative(nn.Module):
    """``x = [obs, tail]`` -> the same with the Sawyer obs' object positions as clipped offsets from the hand.

    With ``told_goal`` the tail ends in a goal point (``bc-task``'s told Sawyer features: aim one-hot, then
    the hidden goal, zeros when the aim has none), which becomes an offset too; otherwise the tail (``z``)
    passes unchanged.
    """

    def __init__(self, told_goal: bool = False) -> None:
        super().__init__()
        from smac_bench.envs.sawyer.env import OBS_DIM, SLOT_START  # lazily: the env module imports MuJoCo

        self.obs_dim, self.slot_starts, self.told_goal = OBS_DIM, tuple(SLOT_START.values()), told_goal

    @staticmethod
    def offset(point: torch.Tensor, hand: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """``point - hand``, scaled down to length :data:`HAND_RELATIVE_CLIP` if longer; zero where not ``present``."""
        d = point - hand
        return d * (HAND_RELATIVE_CLIP / d.norm(dim=-1, keepdim=True).clamp_min(HAND_RELATIVE_CLIP)) * present

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hand, parts = x[..., 0:3], [x[..., :HAND_WIDTH]]
        for s in self.slot_starts:
            present = x[..., s:s + 1]
            parts += [present, self.offset(x[..., s + 1:s + 4], hand, present), x[..., s + 4:s + 7]]
        tail = x[..., self.obs_dim:]
        if self.told_goal:
            goal = tail[..., -3:]
            has_goal = (goal != 0).any(-1, keepdim=True).to(x.dtype)
            tail = torch.cat([tail[..., :-3], self.offset(goal, hand, has_goal)], -1)
        return torch.cat([*parts, tail], -1)


def check_policy_inputs(name: str, owner: str = "") -> None:
    """:class:`UserError` unless ``name`` is one of :data:`POLICY_INPUTS`; ``owner`` (e.g. ``"BCConfig."``)
    prefixes the field's name in the message."""
    _check("policy_inputs", name, POLICY_INPUTS, owner)


def policy_inputs(name: str, obs_dim: int, told_goal: bool = False, latent_dim: int = 0) -> nn.Module:
    """The input transform called ``name`` for observations of ``obs_dim`` followed by a latent of ``latent_dim``
    (or, with ``told_goal``, told features ending in a goal point); :class:`UserError` if it does not fit."""
    check_policy_inputs(name)
    if name == "observation":
        return nn.Identity()
    if name == "hand-place":
        if latent_dim < 3:
            raise UserError(f"policy_inputs 'hand-place' reads a place from a latent of at least 3 numbers, "
                            f"this one has {latent_dim}: use policy_inputs='hand-relative'")
        relative = _fitting_sawyer(HandRelative(told_goal=True), "policy_inputs", name, obs_dim, "observation")
        return nn.Sequential(PlaceLast(latent_dim), relative, HideHandOnTable())
    return _fitting_sawyer(HandRelative(told_goal), "policy_inputs", name, obs_dim, "observation")


def _fitting_sawyer(module: nn.Module, field: str, name: str, obs_dim: int, default: str) -> nn.Module:
    """``module`` (a Sawyer transform) if observations of ``obs_dim`` are Sawyer's, else the one-line error."""
    if obs_dim != module.obs_dim:
        raise UserError(f"{field} {name!r} reads Sawyer observations ({module.obs_dim} numbers), "
                        f"this env's have {obs_dim}: use {field}='{default}'")
    return module


class HandOnly(nn.Module):
    """The hand's numbers of a Sawyer observation (the first :data:`HAND_WIDTH`), then, with ``keep_tail``,
    whatever follows the observation (a context transition's action and reward)."""

    def __init__(self, keep_tail: bool) -> None:
        super().__init__()
        from smac_bench.envs.sawyer.env import OBS_DIM  # lazily: the env module imports MuJoCo

        self.obs_dim, self.keep_tail = OBS_DIM, keep_tail

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x[..., :HAND_WIDTH], x[..., self.obs_dim:]], -1) if self.keep_tail else x[..., :HAND_WIDTH]


def _check(field: str, name: str, choices: tuple[str, ...], owner: str) -> None:
    if name not in choices:
        raise UserError(f"{owner}{field} must be one of {', '.join(choices)}, not {name!r}")


def check_context_inputs(name: str, owner: str = "") -> None:
    """:class:`UserError` unless ``name`` is one of :data:`CONTEXT_INPUTS`."""
    _check("context_inputs", name, CONTEXT_INPUTS, owner)


def check_decoder_inputs(name: str, owner: str = "") -> None:
    """:class:`UserError` unless ``name`` is one of :data:`DECODER_INPUTS`."""
    _check("decoder_inputs", name, DECODER_INPUTS, owner)


def _hand_only(field: str, default: str, obs_dim: int, width: int, keep_tail: bool) -> tuple[nn.Module, int]:
    return _fitting_sawyer(HandOnly(keep_tail), field, "hand", obs_dim, default), width - obs_dim + HAND_WIDTH


def context_inputs(name: str, obs_dim: int, context_dim: int) -> tuple[nn.Module, int]:
    """The transform called ``name`` of context transitions ``[s, a, r]`` (``context_dim`` wide, ``s`` of
    ``obs_dim``) and the width it leaves; :class:`UserError` if it does not fit."""
    check_context_inputs(name)
    if name == "transition":
        return nn.Identity(), context_dim
    return _hand_only("context_inputs", "transition", obs_dim, context_dim, keep_tail=True)


def encoder_place(name: str, latent_dim: int) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """What fixes the context factors' place for context inputs ``name`` (:func:`place_of_hand` for
    ``"hand-place"``, else ``None``); :class:`UserError` if the latent is too small to hold a place."""
    if name != "hand-place":
        return None
    if latent_dim < 3:
        raise UserError(f"context_inputs 'hand-place' puts a place in a latent of at least 3 numbers, "
                        f"this one has {latent_dim}: use context_inputs='hand'")
    return place_of_hand


def decoder_inputs(name: str, obs_dim: int, act_dim: int, latent_dim: int) -> tuple[nn.Module, int]:
    """The transform called ``name`` of the decoder's ``[o, a, z]`` and the width it leaves."""
    check_decoder_inputs(name)
    width = obs_dim + act_dim + latent_dim
    if name == "observation":
        return nn.Identity(), width
    if name == "hand":
        return _hand_only("decoder_inputs", "observation", obs_dim, width, keep_tail=True)
    if latent_dim < 3:
        raise UserError(f"decoder_inputs 'hand-place' reads a place from a latent of at least 3 numbers, "
                        f"this one has {latent_dim}: use decoder_inputs='hand'")
    return _fitting_sawyer(HandPlace(latent_dim), "decoder_inputs", name, obs_dim, "observation"), width - obs_dim - 1
