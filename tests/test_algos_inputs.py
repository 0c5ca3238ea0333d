"""Policy, context and decoder inputs (issue #18): Sawyer's hand-relative observation transform, the hand-only
views of the encoder and the decoder, their checks and their checkpoints."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from smac_bench.algos import agent_config, make_agent
from smac_bench.algos.bc import coerce_bc_config
from smac_bench.algos.config import coerce_config
from smac_bench.algos.inputs import (
    HAND_RELATIVE_CLIP,
    PLACE_CENTRE,
    PLACE_SCALE,
    context_inputs,
    latent_place,
    policy_inputs,
)
from smac_bench.algos.networks import TanhGaussianPolicy
from smac_bench.envs.sawyer.env import OBS_DIM, SLOT_START
from smac_bench.errors import UserError

LATENT = 3


def _obs(rng: np.random.Generator, n: int = 8) -> torch.Tensor:
    """Sawyer-shaped observations: hand anywhere, button and puck present 2-30 cm from it, drawer and tray absent."""
    obs = torch.zeros(n, OBS_DIM)
    hand = rng.uniform([-0.4, 0.4, 0.05, 0.0], [0.4, 0.8, 0.3, 1.0], (n, 4))
    obs[:, 0:4] = torch.as_tensor(hand, dtype=torch.float32)
    for kind in ("button", "puck"):
        s = SLOT_START[kind]
        obs[:, s] = 1.0
        direction = rng.normal(size=(n, 3))
        offset = direction / np.linalg.norm(direction, axis=1, keepdims=True) * rng.uniform(0.02, 0.3, (n, 1))
        obs[:, s + 1:s + 4] = obs[:, 0:3] + torch.as_tensor(offset, dtype=torch.float32)
        obs[:, s + 4:s + 7] = torch.as_tensor(rng.uniform(-1, 1, (n, 3)), dtype=torch.float32)
    return obs


def test_object_positions_become_clipped_offsets_from_the_hand_and_the_rest_passes_through():
    obs = _obs(np.random.default_rng(0))
    z = torch.randn(len(obs), LATENT)
    out = policy_inputs("hand-relative", OBS_DIM)(torch.cat([obs, z], -1))
    assert out.shape == (len(obs), OBS_DIM + LATENT)
    torch.testing.assert_close(out[:, OBS_DIM:], z)  # z untouched
    torch.testing.assert_close(out[:, 0:4], obs[:, 0:4])  # hand and gripper absolute
    for kind, s in SLOT_START.items():
        offset, d = out[:, s + 1:s + 4], obs[:, s + 1:s + 4] - obs[:, 0:3]
        torch.testing.assert_close(out[:, [s, s + 4, s + 5, s + 6]], obs[:, [s, s + 4, s + 5, s + 6]])
        if kind in ("drawer", "tray"):  # absent: all zeros stay zeros
            assert not out[:, s:s + 7].any()
            continue
        length = d.norm(dim=-1)
        torch.testing.assert_close(offset.norm(dim=-1), length.clamp(max=HAND_RELATIVE_CLIP))
        torch.testing.assert_close(torch.nn.functional.cosine_similarity(offset, d), torch.ones(len(obs)))
    assert (out[:, SLOT_START["button"] + 1:SLOT_START["button"] + 4].norm(dim=-1) < HAND_RELATIVE_CLIP - 1e-6).any()


def test_moving_the_hand_and_every_object_together_changes_only_the_hands_own_numbers():
    obs = _obs(np.random.default_rng(1))
    shifted = obs.clone()
    shift = torch.tensor([0.3, -0.2, 0.05])
    shifted[:, 0:3] += shift
    for kind in ("button", "puck"):
        shifted[:, SLOT_START[kind] + 1:SLOT_START[kind] + 4] += shift
    transform = policy_inputs("hand-relative", OBS_DIM)
    a, b = transform(obs), transform(shifted)
    torch.testing.assert_close(a[:, 3:], b[:, 3:])
    assert not torch.allclose(a[:, :3], b[:, :3])


def test_a_told_goal_becomes_an_offset_and_an_absent_goal_stays_zero():
    obs = _obs(np.random.default_rng(2), 2)
    aim = torch.zeros(2, 6)
    goal = torch.stack([obs[0, 0:3] + torch.tensor([0.0, 0.0, 0.04]), torch.zeros(3)])
    out = policy_inputs("hand-relative", OBS_DIM, told_goal=True)(torch.cat([obs, aim, goal], -1))
    torch.testing.assert_close(out[0, -3:], torch.tensor([0.0, 0.0, 0.04]))
    assert not out[1, -3:].any()


def test_the_plain_observation_is_the_identity_and_misfits_are_one_line_errors():
    x = torch.randn(4, 10)
    assert torch.equal(policy_inputs("observation", 7)(x), x)
    with pytest.raises(UserError, match="must be one of observation, hand-relative"):
        policy_inputs("egocentric", OBS_DIM)
    with pytest.raises(UserError, match="reads Sawyer observations .* use policy_inputs='observation'"):
        policy_inputs("hand-relative", 17)
    with pytest.raises(UserError, match="SMACConfig.policy_inputs must be one of"):
        smac = agent_config("smac", "smoke")
        coerce_config(dataclasses.replace(smac, policy_inputs="raw"), type(smac))
    with pytest.raises(UserError, match="BCConfig.policy_inputs must be one of"):
        coerce_bc_config({"policy_inputs": "raw"})
    with pytest.raises(UserError, match="reads Sawyer observations"):
        make_agent("smac", 17, 6, dataclasses.replace(smac, policy_inputs="hand-relative"), seed=0)


def test_the_transform_has_no_weights_so_a_policys_checkpoint_keys_do_not_change():
    plain = TanhGaussianPolicy(OBS_DIM + LATENT, (16,), 4)
    relative = TanhGaussianPolicy(OBS_DIM + LATENT, (16,), 4, inputs=policy_inputs("hand-relative", OBS_DIM))
    assert plain.state_dict().keys() == relative.state_dict().keys()
    relative.load_state_dict(plain.state_dict())
    obs = _obs(np.random.default_rng(3))
    x = torch.cat([obs, torch.zeros(len(obs), LATENT)], -1)
    assert not torch.allclose(plain(x)[0], relative(x)[0])  # same weights, other inputs


@pytest.mark.parametrize("name", ["smac", "bc"])
def test_an_agent_with_hand_relative_inputs_acts_on_what_the_transform_shows(name):
    config = dataclasses.replace(agent_config(name, "smoke"), policy_inputs="hand-relative")
    agent = make_agent(name, OBS_DIM, 4, config, seed=0)
    obs = _obs(np.random.default_rng(4), 4)
    z = agent.prior(4).mean
    far = obs.clone()  # the puck twice as far along the same direction, beyond the clip: nothing changes
    s = SLOT_START["puck"]
    far[:, s + 1:s + 4] = obs[:, 0:3] + 2 * (obs[:, s + 1:s + 4] - obs[:, 0:3])
    beyond = (obs[:, s + 1:s + 4] - obs[:, 0:3]).norm(dim=-1) > HAND_RELATIVE_CLIP
    a, b = agent.act(obs.numpy(), z, True), agent.act(far.numpy(), z, True)
    np.testing.assert_allclose(a[beyond.numpy()], b[beyond.numpy()], atol=1e-6)
    plain = make_agent(name, OBS_DIM, 4, agent_config(name, "smoke"), seed=0)
    near_plain, far_plain = plain.act(obs.numpy(), z, True), plain.act(far.numpy(), z, True)
    assert not np.allclose(near_plain[beyond.numpy()], far_plain[beyond.numpy()])


@pytest.mark.parametrize("name", ["smac", "bc"])
def test_a_checkpoint_from_before_the_field_loads_as_observation_inputs_only(name, tmp_path):
    import json

    agent = make_agent(name, OBS_DIM, 4, agent_config(name, "smoke"), seed=0)
    assert agent.save_policy(tmp_path)
    state = json.loads((tmp_path / "state.json").read_text())
    del state["config"]["policy_inputs"]  # as written before policy_inputs existed
    (tmp_path / "state.json").write_text(json.dumps(state))
    make_agent(name, OBS_DIM, 4, agent_config(name, "smoke"), seed=0).load_policy(tmp_path)
    relative = dataclasses.replace(agent_config(name, "smoke"), policy_inputs="hand-relative")
    with pytest.raises(UserError, match="checkpoint config"):
        make_agent(name, OBS_DIM, 4, relative, seed=0).load_policy(tmp_path)


def test_a_hand_context_encoder_is_blind_to_the_objects_and_sees_the_hand_action_and_reward():
    config = dataclasses.replace(agent_config("smac", "smoke"), context_inputs="hand")
    agent, plain = (make_agent("smac", OBS_DIM, 4, c, seed=0) for c in (config, agent_config("smac", "smoke")))
    obs = _obs(np.random.default_rng(5), 16)
    context = torch.cat([obs, torch.rand(16, 4), -torch.ones(16, 1)], -1)[None]
    moved = context.clone()  # every object elsewhere on the table
    for kind in ("button", "puck"):
        moved[..., SLOT_START[kind] + 1:SLOT_START[kind] + 3] += torch.tensor([0.2, -0.1])
    scored, hand_moved = context.clone(), context.clone()
    scored[..., -1] = 0.0
    hand_moved[..., 0:3] += 0.1
    mean = agent.encoder.posterior_params
    torch.testing.assert_close(mean(context)[0], mean(moved)[0])
    assert not torch.allclose(mean(context)[0], mean(scored)[0])
    assert not torch.allclose(mean(context)[0], mean(hand_moved)[0])
    assert not torch.allclose(plain.encoder.posterior_params(context)[0], plain.encoder.posterior_params(moved)[0])
    assert agent.encoder.net[0].in_features == 4 + 4 + 1  # hand and opening, action, reward


def test_a_hand_decoder_predicts_from_the_hand_action_and_z_only():
    config = dataclasses.replace(agent_config("smac", "smoke"), decoder_inputs="hand")
    decoder = make_agent("smac", OBS_DIM, 4, config, seed=0).decoder
    obs, actions, z = _obs(np.random.default_rng(6)), torch.rand(8, 4), torch.randn(8, config.latent_dim)
    moved = obs.clone()
    moved[:, SLOT_START["puck"] + 1:SLOT_START["puck"] + 3] += 0.2
    hand_moved = obs.clone()
    hand_moved[:, 0:3] += 0.1
    torch.testing.assert_close(decoder(obs, actions, z), decoder(moved, actions, z))
    assert not torch.allclose(decoder(obs, actions, z), decoder(hand_moved, actions, z))
    assert not torch.allclose(decoder(obs, actions, z), decoder(obs, actions, z + 1))


def test_context_and_decoder_inputs_misfits_are_one_line_errors():
    assert context_inputs("transition", 7, 12)[1] == 12
    with pytest.raises(UserError, match="context_inputs must be one of transition, hand"):
        context_inputs("objects", OBS_DIM, OBS_DIM + 5)
    with pytest.raises(UserError, match="reads Sawyer observations .* use context_inputs='transition'"):
        make_agent("smac", 17, 6, dataclasses.replace(agent_config("smac", "smoke"), context_inputs="hand"), seed=0)
    smac = agent_config("smac", "smoke")
    with pytest.raises(UserError, match="SMACConfig.context_inputs must be one of"):
        coerce_config(dataclasses.replace(smac, context_inputs="raw"), type(smac))
    with pytest.raises(UserError, match="SMACConfig.decoder_inputs must be one of observation, hand"):
        coerce_config(dataclasses.replace(smac, decoder_inputs="raw"), type(smac))
    with pytest.raises(UserError, match="reads Sawyer observations .* use decoder_inputs='observation'"):
        make_agent("smac", 17, 6, dataclasses.replace(smac, decoder_inputs="hand"), seed=0)



def _place_agent(latent_dim: int = 5):
    config = dataclasses.replace(agent_config("smac", "smoke"), policy_inputs="hand-place",
                                 decoder_inputs="hand-place", latent_dim=latent_dim)
    return make_agent("smac", OBS_DIM, 4, config, seed=0)


def test_a_hand_place_decoder_sees_only_the_hands_distance_from_the_latents_place():
    decoder = _place_agent().decoder
    obs, actions, z = _obs(np.random.default_rng(7)), torch.rand(8, 4), torch.randn(8, 5)
    shift = torch.tensor([0.2, -0.15, 0.05])
    moved, z_moved = obs.clone(), z.clone()
    moved[:, 0:3] += shift  # hand and place moved together: the same offset, the same prediction
    z_moved[:, :3] += shift / PLACE_SCALE
    torch.testing.assert_close(latent_place(z_moved) - latent_place(z), shift.expand(8, 3))
    torch.testing.assert_close(decoder(obs, actions, z), decoder(moved, actions, z_moved))
    assert not torch.allclose(decoder(obs, actions, z), decoder(moved, actions, z))
    assert not torch.allclose(decoder(obs, actions, z), decoder(obs, actions, z + torch.tensor([0, 0, 0, 1.0, 0])))
    mirrored = obs.clone()  # the hand on the place's other side, as far away: only the distance counts
    mirrored[:, 0:3] = 2 * latent_place(z) - obs[:, 0:3]
    torch.testing.assert_close(decoder(obs, actions, z), decoder(mirrored, actions, z))
    assert decoder.net[0].in_features == 1 + 1 + 4 + 2  # distance, opening, action, z[3:]


def test_a_hand_place_policy_reads_the_latents_place_as_a_clipped_offset_like_a_told_goal_blind_to_the_cell():
    obs, z = _obs(np.random.default_rng(8)), torch.randn(8, 5)
    out = policy_inputs("hand-place", OBS_DIM, latent_dim=5)(torch.cat([obs, z], -1))
    told = policy_inputs("hand-relative", OBS_DIM, told_goal=True)(torch.cat([obs, z[:, 3:], latent_place(z)], -1))
    torch.testing.assert_close(out[:, 2:], told[:, 2:])
    assert not out[:, :2].any()  # the hand's x and y hidden: one table cell looks like another
    moved, z_moved, shift = obs.clone(), z.clone(), torch.tensor([0.3, -0.2, 0.0])
    for s in (0, SLOT_START["button"] + 1, SLOT_START["puck"] + 1):
        moved[:, s:s + 3] += shift
    z_moved[:, :3] += shift / PLACE_SCALE
    torch.testing.assert_close(policy_inputs("hand-place", OBS_DIM, latent_dim=5)(torch.cat([moved, z_moved], -1)), out)
    d = latent_place(z) - obs[:, 0:3]
    torch.testing.assert_close(out[:, -3:].norm(dim=-1), d.norm(dim=-1).clamp(max=HAND_RELATIVE_CLIP))
    direction = d / d.norm(dim=-1, keepdim=True)  # places 20 and 40 cm away the same way look alike
    near, far = (z.clone() for _ in range(2))
    near[:, :3] = (obs[:, 0:3] + 0.2 * direction - torch.tensor(PLACE_CENTRE)) / PLACE_SCALE
    far[:, :3] = (obs[:, 0:3] + 0.4 * direction - torch.tensor(PLACE_CENTRE)) / PLACE_SCALE
    agent = _place_agent()
    np.testing.assert_allclose(agent.act(obs.numpy(), near, True), agent.act(obs.numpy(), far, True), atol=1e-5)


def test_hand_place_misfits_are_one_line_errors():
    with pytest.raises(UserError, match="latent of at least 3 numbers, this one has 2: use decoder_inputs='hand'"):
        _place_agent(latent_dim=2)
    with pytest.raises(UserError, match="latent of at least 3 numbers, this one has 2: use context_inputs='hand'"):
        make_agent("smac", OBS_DIM, 4, dataclasses.replace(agent_config("smac", "smoke"), context_inputs="hand-place"),
                   seed=0)
    with pytest.raises(UserError, match="latent of at least 3 numbers, this one has 0: use policy_inputs='hand-rel"):
        policy_inputs("hand-place", OBS_DIM)
    with pytest.raises(UserError, match="reads Sawyer observations .* use decoder_inputs='observation'"):
        make_agent("smac", 17, 6, dataclasses.replace(agent_config("smac", "smoke"), decoder_inputs="hand-place",
                                                      latent_dim=5), seed=0)


def test_a_hand_place_encoder_puts_each_transitions_place_at_its_hand_and_learns_only_how_much_it_counts():
    config = dataclasses.replace(agent_config("smac", "smoke"), context_inputs="hand-place", latent_dim=5)
    encoder = make_agent("smac", OBS_DIM, 4, config, seed=0).encoder
    obs = _obs(np.random.default_rng(9), 6)
    context = torch.cat([obs, torch.rand(6, 4), -torch.ones(6, 1)], -1)[None]
    mu, var = encoder.factors(context)
    torch.testing.assert_close(latent_place(mu), obs[None, :, 0:3])
    place = latent_place(encoder.posterior_params(context)[0])[0]  # a precision-weighted mean of the hands
    assert bool((place >= obs[:, 0:3].amin(0) - 1e-5).all() and (place <= obs[:, 0:3].amax(0) + 1e-5).all())
    torch.testing.assert_close(latent_place(encoder.posterior_params(context[:, :1])[0])[0], obs[0, 0:3])
