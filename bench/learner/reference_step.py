#!/usr/bin/python3
"""Eager-PyTorch twin of one IVG learner step: the anchor for bench/learner/learner_bench.

learner_bench times LearnerCore::Step (model/core/learner_core.cc) and divides it by a
1024^3 matmul measured on the same machine between the steps. That ratio still mixes two
things: how fast the C++ implementation is, and how the networks' ops map onto this CPU
(oneDNN/OpenBLAS, cache sizes, thread counts). This script runs the same networks
(model/core/networks.cc), the same losses (model/core/losses.cc) and the same step
(learner_core.cc: two autograd.grad calls, flatten for the all-reduce, the finiteness
check, unflatten, both Adam steps, the diagnostics) in eager PyTorch, at the same sizes,
on the same random batch and with the same threads and timing method. Comparing the two
ratios (or the two medians from one machine) then measures the C++ implementation against
plain eager PyTorch, not the machine.

Usage:
  /usr/bin/python3 bench/learner/reference_step.py --config=configs/cpu_small.textproto \
      --steps=10 --threads=2
  /usr/bin/python3 bench/learner/reference_step.py --profile=paper --steps=5 --threads=2
  /usr/bin/python3 bench/learner/reference_step.py --config=configs/cpu_small.textproto --check
  ... --ops=mirror   # the C++'s op choices (channels-last, in-place ELU, ...); see Ops

The last line per profile is machine-readable:
  reference_step profile=<name> batch=<B> threads=<N> median_ms=<x> min_ms=<y>
      anchor_ms=<z> ratio=<median/anchor> params=<n>
(one line); params counts the trained parameters (ModelParameters + PolicyParameters, no
target copies), the same count learner_bench prints as params=.

Only torch and the standard library are used. Where the C++ step does work that plain
PyTorch training code would not (validating the batch, the flattened gradient buffer with
its skip flag, host reads of every loss, the gradient norms it reports with clipping off,
the diagnostics), this twin does the same work, so that the comparison is between
implementations of one computation. By default (--ops=reference) the ops themselves are
the stock eager ones, so later optimisations of the C++ need no change here; --ops=mirror
copies the C++'s current op choices instead (see Ops).
"""

import argparse
import dataclasses
import math
import os
import re
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

# 0.5 * log(2 pi), the normal density's constant per dimension (networks.cc).
_HALF_LOG_TWO_PI = 0.91893853320467274178


# ---------------------------------------------------------------------------------------
# Options (model/core/options.h). Field names follow the C++ structs.
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class ModelOptions:
    latent_size: int = 128
    encoder_channels: int = 32
    encoder_hidden: int = 256
    transition_hidden: int = 256
    decoder_channels: int = 64
    decoder_hidden: int = 256
    head_hidden: int = 256
    policy_last_layer_init_scale: float = 1e-3
    zero_init_heads: bool = True
    policy_min_log_std: float = -5.0
    policy_max_log_std: float = 2.0
    proprio_size: int = 17
    action_size: int = 5
    image_channels: int = 6
    image_size: int = 64
    num_tasks: int = 1
    # model.encoder_pooling: "ENCODER_POOLING_AVERAGE" (the paper's), "..._SPATIAL_SOFTMAX"
    # or "..._FLATTEN" (networks.cc's EncoderImpl::ImageFeatures).
    encoder_pooling: str = "ENCODER_POOLING_AVERAGE"


@dataclasses.dataclass
class LossOptions:
    burn_in: int = 3
    model_rollout: int = 5
    imagination_horizon: int = 5
    single_horizon: bool = False
    # options.h defaults to False; the config proto defaults to True (see _options_from_config).
    clip_model_actions: bool = False
    gamma: float = 0.99
    alpha_reward: float = 1.0
    beta_value: float = 1.0
    zeta_consistency: float = 1.0
    reconstruction_weight: float = 1.0
    kl_regularization: bool = True
    kl_lambda: float = 0.01
    vtrace_rho_clip: float = 1.0
    vtrace_c_clip: float = 1.0
    value_loss_importance_weight: bool = False
    scale_value_by_one_minus_gamma: bool = True
    policy_mean_bound_penalty: float = 0.0
    policy_behaviour_nll_weight: float = 0.0
    # 0 = all K; decoded only with --ops=mirror (Ops.decode_subset).
    reconstructed_steps_per_sequence: int = 0
    reconstruction_foreground_weight: float = 0.0
    # "VALUE_TARGET_VTRACE" (the paper's), "VALUE_TARGET_IMAGINED" or "VALUE_TARGET_BOTH".
    value_target: str = "VALUE_TARGET_VTRACE"
    imagined_value_lambda: float = 0.95

    @property
    def sequence_length(self):
        return self.burn_in + self.model_rollout


@dataclasses.dataclass
class OptimizerOptions:
    model_learning_rate: float = 5e-5
    policy_learning_rate: float = 5e-5
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    max_grad_norm: float = 0.0
    target_update_period: int = 100
    max_consecutive_nonfinite_steps: int = 10


@dataclasses.dataclass
class CoreOptions:
    model: ModelOptions = dataclasses.field(default_factory=ModelOptions)
    loss: LossOptions = dataclasses.field(default_factory=LossOptions)
    optimizer: OptimizerOptions = dataclasses.field(default_factory=OptimizerOptions)
    seed: int = 1
    noise_stream: int = 0


@dataclasses.dataclass
class Profile:
    name: str
    options: CoreOptions
    batch_size: int


# ---------------------------------------------------------------------------------------
# A small, strict textproto reader: enough of the text format for configs/*.textproto.
# ---------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    \s+ | \#[^\n]* |                                  # whitespace, comments
    (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*') |
    (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[fF]?) |
    (?P<ident>[-]?[A-Za-z_][A-Za-z0-9_]*) |
    (?P<punct>[{}\[\]:,;<>])
    """, re.VERBOSE)


class ConfigError(ValueError):
    pass


def _tokenize(text, source):
    """Splits textproto into tokens; '#' comments (outside strings) are dropped."""
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            line = text.count("\n", 0, pos) + 1
            raise ConfigError(f"{source}:{line}: cannot parse near {text[pos:pos + 20]!r}")
        pos = m.end()
        if m.lastgroup is not None:
            tokens.append((m.lastgroup, m.group(m.lastgroup)))
    return tokens


def _parse_message(tokens, i, close, source):
    """Parses fields until `close` ('}', '>' or None = end); returns ({name: [values]}, i)."""
    fields = {}
    while True:
        if i == len(tokens):
            if close is None:
                return fields, i
            raise ConfigError(f"{source}: missing '{close}'")
        kind, tok = tokens[i]
        if close is not None and tok == close:
            return fields, i + 1
        if kind != "ident":
            raise ConfigError(f"{source}: expected a field name, got {tok!r}")
        name, i = tok, i + 1
        has_colon = i < len(tokens) and tokens[i][1] == ":"
        if has_colon:
            i += 1
        if i == len(tokens):
            raise ConfigError(f"{source}: field '{name}' has no value")
        values = fields.setdefault(name, [])
        tok = tokens[i][1]
        if tok in ("{", "<"):
            sub, i = _parse_message(tokens, i + 1, "}" if tok == "{" else ">", source)
            values.append(sub)
        elif not has_colon:
            raise ConfigError(f"{source}: expected ':' after '{name}'")
        elif tok == "[":
            i += 1
            while i < len(tokens) and tokens[i][1] != "]":
                values.append(_scalar(tokens[i], name, source))
                i += 1
                if i < len(tokens) and tokens[i][1] == ",":
                    i += 1
            if i == len(tokens):
                raise ConfigError(f"{source}: field '{name}': missing ']'")
            i += 1
        else:
            values.append(_scalar(tokens[i], name, source))
            i += 1
        if i < len(tokens) and tokens[i][1] in (",", ";"):
            i += 1


def _scalar(token, name, source):
    kind, tok = token
    if kind not in ("str", "num", "ident"):
        raise ConfigError(f"{source}: field '{name}' has no value (got {tok!r})")
    return (kind, tok)


def parse_textproto(path):
    with open(path, encoding="utf-8") as f:
        fields, _ = _parse_message(_tokenize(f.read(), path), 0, None, path)
    return fields


class _Block:
    """Typed, strict reads of one message's scalar fields; unknown fields are ignored."""

    def __init__(self, fields, where):
        self._fields = fields
        self._where = where

    def _one(self, name):
        values = self._fields.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise ConfigError(f"{self._where}.{name}: non-repeated field set {len(values)} times")
        if isinstance(values[0], dict):
            raise ConfigError(f"{self._where}.{name}: expected a scalar, got a message")
        return values[0]

    def sub(self, name):
        values = self._fields.get(name) or [{}]
        if len(values) > 1 or not isinstance(values[0], dict):
            raise ConfigError(f"{self._where}.{name}: expected one message")
        return _Block(values[0], f"{self._where}.{name}" if self._where else name)

    def count(self, name):
        return len(self._fields.get(name, []))

    def integer(self, name, default):
        value = self._one(name)
        if value is None:
            return default
        kind, tok = value
        if kind != "num" or not re.fullmatch(r"[-+]?\d+", tok):
            raise ConfigError(f"{self._where}.{name}: expected an integer, got {tok!r}")
        return int(tok)

    def number(self, name, default):
        value = self._one(name)
        if value is None:
            return default
        kind, tok = value
        if kind == "ident" and tok.lower().lstrip("-") in ("inf", "infinity", "nan"):
            return float(tok)
        if kind != "num":
            raise ConfigError(f"{self._where}.{name}: expected a number, got {tok!r}")
        return float(tok.rstrip("fF"))

    def boolean(self, name, default):
        value = self._one(name)
        if value is None:
            return default
        tok = value[1]
        if tok in ("true", "True", "t", "1"):
            return True
        if tok in ("false", "False", "f", "0"):
            return False
        raise ConfigError(f"{self._where}.{name}: expected true/false, got {tok!r}")

    def enum(self, name, default):
        value = self._one(name)
        if value is None:
            return default
        return value[1]

    def string(self, name, default):
        value = self._one(name)
        if value is None:
            return default
        kind, tok = value
        if kind != "str":
            raise ConfigError(f"{self._where}.{name}: expected a string, got {tok!r}")
        return tok[1:-1]


def _options_from_config(path):
    """The Profile a learner of `path` trains with, as model_config.cc's CoreOptionsFromConfig.

    Unset fields take proto/config.proto's defaults, which equal options.h's except
    learner.clip_model_actions (proto: true, options.h: false).
    """
    root = _Block(parse_textproto(path), "")
    m, lrn, env = root.sub("model"), root.sub("learner"), root.sub("env")
    if env.enum("observation", "OBSERVATION_PIXELS") != "OBSERVATION_PIXELS":
        raise ConfigError(f"{path}: only pixel observations are mirrored (env.observation)")
    o = CoreOptions()
    d = ModelOptions()
    o.model = ModelOptions(
        latent_size=m.integer("latent_size", d.latent_size),
        encoder_channels=m.integer("encoder_channels", d.encoder_channels),
        encoder_hidden=m.integer("encoder_hidden", d.encoder_hidden),
        transition_hidden=m.integer("transition_hidden", d.transition_hidden),
        decoder_channels=m.integer("decoder_channels", d.decoder_channels),
        decoder_hidden=m.integer("decoder_hidden", d.decoder_hidden),
        head_hidden=m.integer("head_hidden", d.head_hidden),
        policy_last_layer_init_scale=m.number("policy_last_layer_init_scale",
                                              d.policy_last_layer_init_scale),
        zero_init_heads=m.boolean("zero_init_heads", d.zero_init_heads),
        policy_min_log_std=m.number("policy_min_log_std", d.policy_min_log_std),
        policy_max_log_std=m.number("policy_max_log_std", d.policy_max_log_std),
        proprio_size=m.integer("proprio_size", d.proprio_size),
        action_size=m.integer("action_size", d.action_size),
        image_size=env.integer("image_size", d.image_size),
        encoder_pooling=m.enum("encoder_pooling", d.encoder_pooling),
        # derived_values.cc NumTasks: the multi-task list's length, else 1.
        num_tasks=max(1, env.count("multitask_tasks")))
    if m.boolean("tanh_squashed_policy", False):
        raise ConfigError(f"{path}: model.tanh_squashed_policy is not mirrored here (the "
                          "reference step clips); remove it to compare like for like")
    if lrn.enum("policy_algorithm", "POLICY_IVG") != "POLICY_IVG":
        raise ConfigError(f"{path}: only POLICY_IVG is mirrored (SVG(0) has a Q critic here)")
    dl = LossOptions()
    o.loss = LossOptions(
        burn_in=lrn.integer("burn_in", dl.burn_in),
        model_rollout=lrn.integer("model_rollout", dl.model_rollout),
        imagination_horizon=lrn.integer("imagination_horizon", dl.imagination_horizon),
        single_horizon=lrn.boolean("single_horizon", dl.single_horizon),
        clip_model_actions=lrn.boolean("clip_model_actions", True),  # The proto's default.
        gamma=lrn.number("gamma", dl.gamma),
        alpha_reward=lrn.number("alpha_reward", dl.alpha_reward),
        beta_value=lrn.number("beta_value", dl.beta_value),
        zeta_consistency=lrn.number("zeta_consistency", dl.zeta_consistency),
        reconstruction_weight=lrn.number("reconstruction_weight", dl.reconstruction_weight),
        kl_regularization=lrn.boolean("kl_regularization", dl.kl_regularization),
        kl_lambda=lrn.number("kl_lambda", dl.kl_lambda),
        vtrace_rho_clip=lrn.number("vtrace_rho_clip", dl.vtrace_rho_clip),
        vtrace_c_clip=lrn.number("vtrace_c_clip", dl.vtrace_c_clip),
        value_loss_importance_weight=lrn.boolean("value_loss_importance_weight",
                                                 dl.value_loss_importance_weight),
        scale_value_by_one_minus_gamma=lrn.boolean("scale_value_by_one_minus_gamma",
                                                   dl.scale_value_by_one_minus_gamma),
        policy_mean_bound_penalty=lrn.number("policy_mean_bound_penalty",
                                             dl.policy_mean_bound_penalty),
        policy_behaviour_nll_weight=lrn.number("policy_behaviour_nll_weight",
                                               dl.policy_behaviour_nll_weight),
        reconstructed_steps_per_sequence=lrn.integer("reconstructed_steps_per_sequence",
                                                     dl.reconstructed_steps_per_sequence),
        reconstruction_foreground_weight=lrn.number("reconstruction_foreground_weight",
                                                    dl.reconstruction_foreground_weight),
        value_target=lrn.enum("value_target", dl.value_target),
        imagined_value_lambda=lrn.number("imagined_value_lambda", dl.imagined_value_lambda))
    if o.loss.imagination_horizon < 1:
        raise ConfigError(f"{path}: imagination_horizon 0 is SVG(0), which is not mirrored")
    do = OptimizerOptions()
    o.optimizer = OptimizerOptions(
        model_learning_rate=lrn.number("model_learning_rate", do.model_learning_rate),
        policy_learning_rate=lrn.number("policy_learning_rate", do.policy_learning_rate),
        adam_beta1=lrn.number("adam_beta1", do.adam_beta1),
        adam_beta2=lrn.number("adam_beta2", do.adam_beta2),
        adam_epsilon=lrn.number("adam_epsilon", do.adam_epsilon),
        max_grad_norm=lrn.number("max_grad_norm", do.max_grad_norm),
        target_update_period=lrn.integer("target_update_period", do.target_update_period),
        max_consecutive_nonfinite_steps=lrn.integer("max_consecutive_nonfinite_steps",
                                                    do.max_consecutive_nonfinite_steps))
    o.seed = lrn.integer("seed", 1)
    batch = lrn.integer("batch_size_per_learner", 16)
    if batch < 1:
        raise ConfigError(f"{path}: learner.batch_size_per_learner must be >= 1")
    return Profile(root.string("name", path), o, batch)


def paper_profile():
    """learner_bench's PaperProfile: the C++ defaults (options.h) with batch 16."""
    return Profile("paper", CoreOptions(), 16)


def small_profile():
    """learner_bench's SmallProfile (the sizes cpu-small had when it was proposed)."""
    o = CoreOptions()
    o.model = dataclasses.replace(o.model, latent_size=64, encoder_channels=16,
                                  encoder_hidden=128, transition_hidden=128,
                                  decoder_channels=16, decoder_hidden=128, head_hidden=128)
    return Profile("small", o, 8)


# ---------------------------------------------------------------------------------------
# Networks (model/core/networks.cc). Modules are built in the C++ declaration order.
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Ops:
    """Which implementation of a few ops whose function is fixed: stock eager or the C++'s.

    The C++ step has been optimised in place (networks.cc, losses.cc): channels-last convs,
    in-place ELUs, summing each group of 4 channels before the bilinear interpolation
    (linear, so the same function) and a one-node BCE. "reference" computes the networks as
    their definitions read, with stock eager ops: a stable anchor, so the C++/PyTorch ratio
    says what the whole C++ implementation buys. "mirror" makes the C++'s current choices,
    so the ratio isolates LibTorch-from-C++ against the same ops driven from Python.
    """
    name: str
    channels_last: bool
    inplace_elu: bool
    sum_before_upsample: bool
    fused_bce: bool
    # Decode learner.reconstructed_steps_per_sequence random predicted steps per sequence
    # (losses.cc SelectReconstructed) instead of all K. "reference" decodes all K, the
    # paper's loss as plain training code computes it, so a config that decodes a subset
    # measures what doing less work buys against it.
    decode_subset: bool


OPS = {
    "reference": Ops("reference", channels_last=False, inplace_elu=False,
                     sum_before_upsample=False, fused_bce=False, decode_subset=False),
    "mirror": Ops("mirror", channels_last=True, inplace_elu=True, sum_before_upsample=True,
                  fused_bce=True, decode_subset=True),
}


def _conv(cin, cout, kernel, stride):
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)


def _mlp2(cin, hidden, cout):
    """Linear, ELU, Linear, ELU (the "2-layer MLP" of appendix E)."""
    return nn.Sequential(nn.Linear(cin, hidden), nn.ELU(), nn.Linear(hidden, cout), nn.ELU())


def _elu(x, ops):
    # In place (networks.cc's EluInPlace) only on tensors nothing else holds (conv outputs
    # and sums, which no backward reads); ELU's own backward reads its result.
    return F.elu(x, inplace=ops.inplace_elu)


def _frames_layout(x, ops):
    return x.contiguous(memory_format=torch.channels_last) if ops.channels_last else x


class ResidualBlock(nn.Module):
    """Conv 3x3 stride 2 followed by a two-conv residual branch."""

    def __init__(self, channels, ops):
        super().__init__()
        self.ops = ops
        self.down = _conv(channels, channels, 3, 2)
        self.conv1 = _conv(channels, channels, 3, 1)
        self.conv2 = _conv(channels, channels, 3, 1)

    def forward(self, x):
        y = _elu(self.down(x), self.ops)
        return _elu(y + self.conv2(_elu(self.conv1(y), self.ops)), self.ops)


def image_feature_size(o):
    """Features per frame after the conv tower's pooling (networks.cc's ImageFeatureSize)."""
    side = o.image_size // 8
    if o.encoder_pooling == "ENCODER_POOLING_SPATIAL_SOFTMAX":
        return 2 * o.encoder_channels
    if o.encoder_pooling == "ENCODER_POOLING_FLATTEN":
        return o.encoder_channels * side * side
    return o.encoder_channels


def spatial_soft_argmax(x):
    """Per channel the expected (x, y) under a softmax over the map, on a [-1, 1] grid."""
    n, c, h, w = x.shape
    p = torch.softmax(x.reshape(n, c, h * w), -1).view(n, c, h, w)
    ys = torch.linspace(-1.0, 1.0, h, dtype=x.dtype)
    xs = torch.linspace(-1.0, 1.0, w, dtype=x.dtype)
    return torch.cat([(p.sum(2) * xs).sum(2), (p.sum(3) * ys).sum(2)], 1)


class Encoder(nn.Module):
    """Per-frame conv tower + proprio MLP, fused by a 3-layer MLP, then an LSTM over time."""

    def __init__(self, o, ops):
        super().__init__()
        self.ops = ops
        self.conv0 = _conv(o.image_channels, o.encoder_channels, 3, 1)
        self.block1 = ResidualBlock(o.encoder_channels, ops)
        self.block2 = ResidualBlock(o.encoder_channels, ops)
        self.block3 = ResidualBlock(o.encoder_channels, ops)
        self.proprio_mlp = _mlp2(o.proprio_size, o.encoder_hidden, o.encoder_hidden)
        self.pooling = o.encoder_pooling
        self.fusion_mlp = nn.Sequential(
            nn.Linear(image_feature_size(o) + o.encoder_hidden, o.encoder_hidden), nn.ELU(),
            nn.Linear(o.encoder_hidden, o.encoder_hidden), nn.ELU(),
            nn.Linear(o.encoder_hidden, o.encoder_hidden), nn.ELU())
        self.lstm = nn.LSTM(o.encoder_hidden, o.latent_size, batch_first=True)

    def forward(self, images, proprio):
        return self.integrate(self.encode_frames(images, proprio))

    def integrate(self, features):
        return self.lstm(features)[0]  # From a zero state.

    def integrate_windows(self, features, window):
        """IntegrateWindows: at each step with `window` frames up to it, the LSTM from a
        fresh state over those frames (the actors' latent): [B, T, F] -> [B, T-window+1, D]."""
        b, t, f = features.shape
        windows = t - window + 1
        stacked = features.unfold(1, window, 1).transpose(2, 3).reshape(b * windows, window, f)
        return self.integrate(stacked)[:, window - 1].view(b, windows, -1)

    def encode_frames(self, images, proprio):
        b, t = images.shape[0], images.shape[1]
        x = _frames_layout(images.flatten(0, 1), self.ops)
        x = _elu(self.conv0(x), self.ops)
        x = self.block3(self.block2(self.block1(x)))
        if self.pooling == "ENCODER_POOLING_SPATIAL_SOFTMAX":
            x = spatial_soft_argmax(x)
        elif self.pooling == "ENCODER_POOLING_FLATTEN":
            x = x.flatten(1)
        else:
            x = x.mean((2, 3))
        p = self.proprio_mlp(proprio.flatten(0, 1))
        return self.fusion_mlp(torch.cat([x, p], 1)).view(b, t, -1)


class Transition(nn.Module):
    """h + scale * tanh(delta(h, a)) + shift."""

    def __init__(self, o):
        super().__init__()
        self.latent_mlp = _mlp2(o.latent_size, o.transition_hidden, o.transition_hidden)
        self.action_mlp = _mlp2(o.action_size, o.transition_hidden, o.transition_hidden)
        self.joint_mlp = nn.Sequential(nn.Linear(2 * o.transition_hidden, o.transition_hidden),
                                       nn.ELU(), nn.Linear(o.transition_hidden, o.latent_size))
        self.scale = nn.Parameter(torch.ones(o.latent_size))
        self.shift = nn.Parameter(torch.zeros(o.latent_size))

    def forward(self, h, a):
        delta = self.joint_mlp(torch.cat([self.latent_mlp(h), self.action_mlp(a)], -1))
        return h + self.scale * torch.tanh(delta) + self.shift


def bilinear_additive_upsample(x, ops):
    """[N, C, S, S] -> [N, C/4, 2S, 2S]: bilinear x2, each group of 4 channels summed."""
    def up(t):
        return F.interpolate(t, scale_factor=(2.0, 2.0), mode="bilinear", align_corners=False)

    n, c, s = x.shape[0], x.shape[1], x.shape[2]
    if ops.sum_before_upsample:
        return up(x.view(n, c // 4, 4, s, s).sum(2))
    y = up(x)
    return y.view(n, c // 4, 4, 2 * s, 2 * s).sum(2)


class Decoder(nn.Module):
    """h -> (image logits [.., C, 64, 64], proprio [.., P])."""

    def __init__(self, o, ops):
        super().__init__()
        self.ops = ops
        self.channels = o.decoder_channels
        self.proprio_mlp = nn.Sequential(nn.Linear(o.latent_size, o.decoder_hidden), nn.ELU(),
                                         nn.Linear(o.decoder_hidden, o.proprio_size))
        self.seed = nn.Linear(o.latent_size, o.decoder_channels * 8 * 8)
        quarter = o.decoder_channels // 4
        self.stage1 = _conv(quarter, o.decoder_channels, 3, 1)
        self.stage2 = _conv(quarter, o.decoder_channels, 3, 1)
        self.stage3 = _conv(quarter, o.decoder_channels, 3, 1)
        self.out = _conv(o.decoder_channels, o.image_channels, 1, 1)

    def forward(self, h):
        lead = list(h.shape[:-1])
        flat = h.reshape(-1, h.shape[-1])
        x = _frames_layout(F.elu(self.seed(flat)).view(-1, self.channels, 8, 8), self.ops)
        for stage in (self.stage1, self.stage2, self.stage3):
            x = _elu(stage(bilinear_additive_upsample(x, self.ops)), self.ops)
        x = self.out(x)
        return x.view(lead + list(x.shape[1:])), self.proprio_mlp(h)


class NormedMlp(nn.Module):
    """fc1, LayerNorm, ELU, fc2, ELU, fc3 (value, reward heads)."""

    def __init__(self, cin, hidden, cout):
        super().__init__()
        self.fc1 = nn.Linear(cin, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, cout)
        self.norm = nn.LayerNorm(hidden)

    def zero_output_layer(self):
        with torch.no_grad():
            self.fc3.weight.zero_()
            self.fc3.bias.zero_()

    def forward(self, x):
        y = F.elu(self.norm(self.fc1(x)))
        return self.fc3(F.elu(self.fc2(y)))


class Policy(nn.Module):
    """pi(a | h, task) = Normal(mu, sigma^2), last layer near zero."""

    def __init__(self, o):
        super().__init__()
        self.min_log_std = o.policy_min_log_std
        self.max_log_std = o.policy_max_log_std
        self.fc1 = nn.Linear(o.latent_size + o.num_tasks, o.head_hidden)
        self.fc2 = nn.Linear(o.head_hidden, o.head_hidden)
        self.fc3 = nn.Linear(o.head_hidden, 2 * o.action_size)
        with torch.no_grad():
            nn.init.normal_(self.fc3.weight, 0.0, o.policy_last_layer_init_scale)
            nn.init.zeros_(self.fc3.bias)

    def forward(self, h, task_onehot):
        x = F.elu(self.fc1(torch.cat([h, task_onehot], -1)))
        x = self.fc3(F.elu(self.fc2(x)))
        mean, log_std = x.chunk(2, -1)
        return mean, log_std.clamp(self.min_log_std, self.max_log_std)


def gaussian_log_prob(a, mean, log_std):
    z = (a - mean) * torch.exp(-log_std)
    return (-0.5 * z * z - log_std - _HALF_LOG_TWO_PI).sum(-1)


def standard_normal_log_prob(a):
    return (-0.5 * a * a - _HALF_LOG_TWO_PI).sum(-1)


class IvgModel(nn.Module):
    """Every network of one learner, registered in IvgModelImpl's order."""

    def __init__(self, o, ops):
        super().__init__()
        if o.decoder_channels % 4 != 0:
            raise ValueError(f"decoder_channels must be divisible by 4, got {o.decoder_channels}")
        if o.image_size != 64:
            raise ValueError(f"the decoder produces 64x64 images; image_size is {o.image_size}")
        self.options = o
        self.ops = ops
        self.encoder = Encoder(o, ops)
        self.transition = Transition(o)
        self.decoder = Decoder(o, ops)
        self.value = NormedMlp(o.latent_size + o.num_tasks, o.head_hidden, 1)
        self.reward = NormedMlp(o.latent_size, o.head_hidden, o.num_tasks)
        if o.zero_init_heads:
            self.value.zero_output_layer()
            self.reward.zero_output_layer()
        self.policy = Policy(o)
        self.target_encoder = Encoder(o, ops)
        self.target_value = NormedMlp(o.latent_size + o.num_tasks, o.head_hidden, 1)
        for p in list(self.target_encoder.parameters()) + list(self.target_value.parameters()):
            p.requires_grad_(False)
        self.update_target()

    def value_of(self, h, task_onehot):
        return self.value(torch.cat([h, task_onehot], -1)).squeeze(-1)

    def target_value_of(self, h, task_onehot):
        return self.target_value(torch.cat([h, task_onehot], -1)).squeeze(-1)

    def model_parameters(self):
        return [p for m in (self.encoder, self.transition, self.decoder, self.value, self.reward)
                for p in m.parameters()]

    def policy_parameters(self):
        return list(self.policy.parameters())

    @torch.no_grad()
    def update_target(self):
        for src, dst in ((self.encoder, self.target_encoder), (self.value, self.target_value)):
            src_params = dict(src.named_parameters())
            for name, p in dst.named_parameters():
                p.copy_(src_params[name])
            src_buffers = dict(src.named_buffers())
            for name, b in dst.named_buffers():
                b.copy_(src_buffers[name])


# ---------------------------------------------------------------------------------------
# Losses (model/core/losses.cc).
# ---------------------------------------------------------------------------------------


def task_one_hot(task_ids, num_tasks, like):
    return F.one_hot(task_ids, num_tasks).to(dtype=like.dtype, device=like.device)


@torch.no_grad()
def vtrace_targets(values, rewards, log_ratios, gamma, rho_clip, c_clip):
    t_len = values.shape[1]
    ratios = torch.exp(log_ratios)
    rho = torch.clamp_max(ratios, rho_clip)
    c = torch.clamp_max(ratios, c_clip)
    targets = [None] * t_len
    correction = torch.zeros_like(values.select(1, 0))
    targets[t_len - 1] = values.select(1, t_len - 1)
    for t in range(t_len - 2, -1, -1):
        delta = rho.select(1, t) * (rewards.select(1, t) + gamma * values.select(1, t + 1) -
                                    values.select(1, t))
        correction = delta + gamma * c.select(1, t) * correction
        targets[t] = values.select(1, t) + correction
    return torch.stack(targets, 1)


class _BceWithLogitsMean(torch.autograd.Function):
    """losses.cc's BinaryCrossEntropyWithLogitsMean and its weighted form: the stock op's value
    and gradient in one autograd node, mean(w * (softplus(x) - x y)) / mean(w) with weights
    broadcast over the logits, or the plain mean without; d/dx = w (sigmoid(x) - y) / (n mean(w))."""

    @staticmethod
    def forward(ctx, logits, targets, weights):  # pylint: disable=arguments-differ
        normalised = None if weights is None else weights / weights.mean()
        ctx.save_for_backward(logits, targets, normalised)
        loss = F.softplus(logits).addcmul_(logits, targets, value=-1)
        if normalised is not None:
            loss.mul_(normalised)
        return loss.mean()

    @staticmethod
    def backward(ctx, grad_output):  # pylint: disable=arguments-differ
        logits, targets, normalised = ctx.saved_tensors
        grad = torch.sigmoid(logits).sub_(targets)
        if normalised is not None:
            grad.mul_(normalised)
        return grad.mul_(grad_output / logits.numel()), None, None


def bce_with_logits_mean(logits, targets, ops, weights=None):
    if ops.fused_bce:
        return _BceWithLogitsMean.apply(logits, targets, weights)
    if weights is not None:
        return F.binary_cross_entropy_with_logits(
            logits, targets, weight=(weights / weights.mean()).expand_as(logits))
    return F.binary_cross_entropy_with_logits(logits, targets)


def foreground_pixel_weights(frames, images, c):
    """losses.cc ForegroundPixelWeights against BatchBackground(images)."""
    with torch.no_grad():
        background = images[:, -1].median(0).values
        d = (frames - background).abs().amax(-3, keepdim=True)
        return d.div(d.mean().clamp_min(1e-6)).mul_(c).add_(1.0)


def value_scale(o):
    return (1.0 - o.gamma) if o.scale_value_by_one_minus_gamma else 1.0


def open_loop_rollout(transition, latents, actions, burn_in):
    g = latents.select(1, burn_in - 1)
    predicted = []
    for i in range(burn_in - 1, actions.shape[1] - 1):
        g = transition(g, actions.select(1, i))
        predicted.append(g)
    return torch.stack(predicted, 1)


def _gather_steps(x, steps):
    """x[i, steps[i, j]] for x [B, K, ...] and steps [B, n]: [B, n, ...]."""
    index = steps.view(steps.shape + (1,) * (x.dim() - 2)).expand(steps.shape + x.shape[2:])
    return x.gather(1, index)


def compute_model_loss(model, batch, o):
    """ComputeModelLoss (eq. 3-6 / 16-17); returns a dict of the terms the C++ returns."""
    like = next(model.transition.parameters())
    b, length = batch["images"].shape[0], batch["images"].shape[1]
    h = o.burn_in
    images = batch["images"].to(like.dtype) / 255.0
    proprio = batch["proprio"].to(like.dtype)
    actions = batch["actions"].to(like.dtype)
    model_actions = actions.clamp(-1.0, 1.0) if o.clip_model_actions else actions
    rewards = batch["rewards"].to(like.dtype)
    mu_log_probs = batch["behaviour_log_probs"].to(like.dtype)
    task_ids = batch["task_ids"].to(like.device)
    onehot = task_one_hot(task_ids, model.options.num_tasks, like)
    onehot_seq = onehot.unsqueeze(1).expand(b, length, onehot.shape[1])
    index = task_ids.view(-1, 1, 1).expand(rewards.shape[0], rewards.shape[1], 1)
    task_rewards = rewards.gather(2, index).squeeze(2)
    scale = value_scale(o)

    out = {}
    features = model.encoder.encode_frames(images, proprio)
    e = model.encoder.integrate(features)
    out["latents"] = e
    # The actors' latents at steps H-1 .. L-1 (start states, log pi): no gradient in IVG.
    first = h - 1
    with torch.no_grad():
        starts = model.encoder.integrate_windows(features.detach(), h)
    out["start_latents"] = starts
    s_len = starts.shape[1]
    start_onehot = onehot_seq[:, first:length]
    start_actions = actions[:, first:length]
    gs = open_loop_rollout(model.transition, e, model_actions, h)
    decoded, image_targets, proprio_targets = gs, images[:, h:length], proprio[:, h:length]
    n = o.reconstructed_steps_per_sequence
    if model.ops.decode_subset and 0 < n < gs.shape[1]:
        # n distinct predicted steps per sequence, drawn anew each step (learner_core.cc).
        steps = torch.rand(b, gs.shape[1], device=gs.device).argsort(1)[:, :n]
        decoded = _gather_steps(gs, steps)
        image_targets = _gather_steps(image_targets, steps)
        proprio_targets = _gather_steps(proprio_targets, steps)
    image_logits, proprio_pred = model.decoder(decoded)
    weights = None
    if o.reconstruction_foreground_weight > 0.0:
        weights = foreground_pixel_weights(image_targets, images,
                                           o.reconstruction_foreground_weight)
    out["reconstruction_image"] = bce_with_logits_mean(image_logits, image_targets, model.ops,
                                                       weights)
    out["reconstruction_proprio"] = (proprio_pred - proprio_targets).pow(2).mean()
    out["consistency"] = (e[:, h:length] - gs).pow(2).mean()
    out["reward"] = (model.reward(gs) - rewards[:, h - 1:length - 1]).pow(2).mean()

    with torch.no_grad():
        u = model.target_value_of(model.target_encoder(images, proprio)[:, first:length],
                                  start_onehot) / scale
        mean, log_std = model.policy(starts, start_onehot)
        log_pi = gaussian_log_prob(start_actions, mean, log_std)
        r = task_rewards[:, first:length]
        if o.kl_regularization:
            r = r - o.kl_lambda * (log_pi - standard_normal_log_prob(start_actions))
        log_ratio = log_pi - mu_log_probs[:, first:length]
        out["vtrace_targets"] = vtrace_targets(u, r, log_ratio, o.gamma, o.vtrace_rho_clip,
                                               o.vtrace_c_clip)
        rho_weights = torch.clamp_max(torch.exp(log_ratio), o.vtrace_rho_clip)
    # The value trains on g_H .. g_{L-1}: targets from index 1 of the S start steps.
    value_error = (model.value_of(gs, start_onehot[:, 1:s_len]) -
                   out["vtrace_targets"][:, 1:s_len] * scale).pow(2)
    if o.value_loss_importance_weight:
        value_error = value_error * rho_weights[:, 1:s_len]
    out["value"] = value_error.mean()
    # The C++ builds a zero Q term outside SVG(0) and adds it; so does the twin.
    out["q"] = torch.zeros((), dtype=like.dtype, device=like.device)
    out["total"] = (o.reconstruction_weight *
                    (out["reconstruction_image"] + out["reconstruction_proprio"]) +
                    o.zeta_consistency * out["consistency"] + o.alpha_reward * out["reward"] +
                    o.beta_value * (out["value"] + out["q"]))
    return out


def imagined_value_objective(policy, transition, reward, value, x0, noise, horizon,
                             single_horizon, gamma, kl_lambda):
    """ImaginedValueObjective: (1/N) sum_k V_k per start state (or V_N alone)."""
    x = x0
    discounted_rewards = torch.zeros(x0.shape[0], dtype=x0.dtype, device=x0.device)
    total = torch.zeros(x0.shape[0], dtype=x0.dtype, device=x0.device)
    discount = 1.0
    for j in range(horizon):
        mean, log_std = policy(x)
        a = mean + noise[j] * torch.exp(log_std)
        nxt = transition(x, a)
        r = reward(nxt)
        if kl_lambda != 0.0:
            r = r - kl_lambda * (gaussian_log_prob(a, mean, log_std) - standard_normal_log_prob(a))
        discounted_rewards = discounted_rewards + discount * r
        discount *= gamma
        x = nxt
        if not single_horizon or j + 1 == horizon:
            total = total + discounted_rewards + discount * value(x)
    return total if single_horizon else total / float(horizon)


def lambda_returns(rewards, values, gamma, lam):
    """LambdaReturns: rewards [N, S], values [N + 1, S] -> [N, S]."""
    n = rewards.shape[0]
    returns = [None] * n
    nxt = values[n]
    for j in range(n - 1, -1, -1):
        nxt = rewards[j] + gamma * ((1.0 - lam) * values[j + 1] + lam * nxt)
        returns[j] = nxt
    return torch.stack(returns, 0)


def compute_imagined_value_loss(model, start_latents, task_ids, noise, o):
    """ComputeImaginedValueLoss: V regressed on lambda-returns of the policy's imagined
    rollouts (no gradient through the rollout), bootstrapped from the target value head."""
    n = o.imagination_horizon
    b, s = start_latents.shape[0], start_latents.shape[1]
    scale = value_scale(o)
    lam = o.kl_lambda if o.kl_regularization else 0.0
    x = start_latents.detach().reshape(b * s, start_latents.shape[2])
    ids = task_ids.to(x.device).repeat_interleave(s)
    onehot = task_one_hot(ids, model.options.num_tasks, x)
    eps = noise.to(dtype=x.dtype, device=x.device)
    with torch.no_grad():
        states, rewards, values = [], [], [model.target_value_of(x, onehot) / scale]
        for j in range(n):
            states.append(x)
            mean, log_std = model.policy(x, onehot)
            a = mean + eps[j] * torch.exp(log_std)
            x = model.transition(x, a.clamp(-1.0, 1.0) if o.clip_model_actions else a)
            r = model.reward(x).gather(1, ids.unsqueeze(1)).squeeze(1)
            if lam != 0.0:
                r = r - lam * (gaussian_log_prob(a, mean, log_std) - standard_normal_log_prob(a))
            rewards.append(r)
            values.append(model.target_value_of(x, onehot) / scale)
        targets = lambda_returns(torch.stack(rewards), torch.stack(values), o.gamma,
                                 o.imagined_value_lambda)
        latents = torch.stack(states)
    predicted = model.value_of(latents, onehot.unsqueeze(0).expand(n, b * s, onehot.shape[1]))
    return (predicted - targets * scale).pow(2).mean()


def compute_policy_loss(model, latents, task_ids, noise, o, behaviour_actions=None):
    """ComputePolicyLoss for IVG(N), N >= 1: -objective from the B*S detached start latents."""
    b, length = latents.shape[0], latents.shape[1]
    x0 = latents.detach().reshape(b * length, latents.shape[2])
    ids = task_ids.to(x0.device).repeat_interleave(length)
    onehot = task_one_hot(ids, model.options.num_tasks, x0)
    scale = value_scale(o)
    lam = o.kl_lambda if o.kl_regularization else 0.0
    eps = noise.to(dtype=x0.dtype, device=x0.device)

    def transition(x, a):
        return model.transition(x, a.clamp(-1.0, 1.0) if o.clip_model_actions else a)

    objective = imagined_value_objective(
        policy=lambda x: model.policy(x, onehot),
        transition=transition,
        reward=lambda x: model.reward(x).gather(1, ids.unsqueeze(1)).squeeze(1),
        value=lambda x: model.value_of(x, onehot) / scale,
        x0=x0, noise=eps, horizon=o.imagination_horizon, single_horizon=o.single_horizon,
        gamma=o.gamma, kl_lambda=lam)
    loss = -objective.mean()
    if o.policy_mean_bound_penalty > 0.0:
        # losses.cc MeanBeyondBoundsPenalty on the start states' means.
        start_mean = model.policy(x0, onehot)[0]
        loss = loss + o.policy_mean_bound_penalty * torch.relu(
            start_mean.abs() - 1.0).square().sum(-1).mean()
    if o.policy_behaviour_nll_weight > 0.0:
        # losses.cc BehaviourNll: the replayed actions at their own latents.
        mean, log_std = model.policy(x0, onehot)
        actions = behaviour_actions.to(dtype=x0.dtype, device=x0.device).reshape(
            b * length, behaviour_actions.shape[2])
        loss = loss - o.policy_behaviour_nll_weight * gaussian_log_prob(
            actions, mean, log_std).mean()
    return loss


# ---------------------------------------------------------------------------------------
# The learner step (model/core/learner_core.cc).
# ---------------------------------------------------------------------------------------

_LOSS_NAMES = ("reconstruction_image", "reconstruction_proprio", "consistency", "reward",
               "value", "q", "model_total", "policy")


def _grad_group(name):
    module = name.split(".", 1)[0]
    return "heads" if module in ("reward", "value", "q") else module


class LearnerCore:
    """The networks, both Adam optimisers, the noise generator and Step, as in C++."""

    def __init__(self, o, device, ops):
        self.options = o
        self.device = device
        torch.manual_seed(o.seed)  # LearnerCore::Create seeds before building the networks.
        self.model = IvgModel(o.model, ops).to(device=device, dtype=torch.float32)
        opt = o.optimizer
        # foreach=False: torch::optim::Adam updates one parameter at a time, and so does this.
        self.model_optimizer = torch.optim.Adam(
            self.model.model_parameters(), lr=opt.model_learning_rate,
            betas=(opt.adam_beta1, opt.adam_beta2), eps=opt.adam_epsilon, foreach=False)
        self.policy_optimizer = torch.optim.Adam(
            self.model.policy_parameters(), lr=opt.policy_learning_rate,
            betas=(opt.adam_beta1, opt.adam_beta2), eps=opt.adam_epsilon, foreach=False)
        self.noise_generator = torch.Generator()
        self.noise_generator.manual_seed(o.seed * 7919 + 17 + o.noise_stream * 104729)
        self.step_count = 0
        self.target_updates = 0
        self.consecutive_nonfinite = 0

    def parameter_count(self):
        trained = self.model.model_parameters() + self.model.policy_parameters()
        return sum(p.numel() for p in trained)

    def draw_policy_noise(self, batch_size):
        n = max(1, self.options.loss.imagination_horizon)
        # One row per start state: S = L - H + 1 per sequence.
        starts = self.options.loss.sequence_length - self.options.loss.burn_in + 1
        noise = torch.randn(n, batch_size * starts,
                            self.options.model.action_size, generator=self.noise_generator)
        return noise.to(self.device)

    def validate_batch(self, batch):
        """ValidateBatch, including its two host reads of the task ids' range."""
        m, t = self.options.model, self.options.loss.sequence_length
        b = batch["images"].shape[0]
        expected = {"images": (b, t, m.image_channels, m.image_size, m.image_size),
                    "proprio": (b, t, m.proprio_size), "actions": (b, t, m.action_size),
                    "rewards": (b, t, m.num_tasks), "behaviour_log_probs": (b, t),
                    "task_ids": (b,)}
        for name, shape in expected.items():
            if tuple(batch[name].shape) != shape:
                raise ValueError(f"batch field '{name}' has shape {tuple(batch[name].shape)}, "
                                 f"expected {shape}")
        lo, hi = batch["task_ids"].min().item(), batch["task_ids"].max().item()
        if lo < 0 or hi >= m.num_tasks:
            raise ValueError(f"batch task_ids must lie in [0, {m.num_tasks}), got [{lo}, {hi}]")

    def fill_diagnostics(self, terms, batch, policy_loss):
        """FillDiagnostics: a policy and a value forward on the latents, grad norms per group."""
        d = {}
        with torch.no_grad():
            x = terms["start_latents"].detach()
            num_tasks = self.options.model.num_tasks
            onehot = task_one_hot(batch["task_ids"].to(x.device), num_tasks, x).unsqueeze(1).expand(
                x.shape[0], x.shape[1], num_tasks)
            mean, log_std = self.model.policy(x, onehot)
            d["policy_log_std_mean"] = log_std.mean().item()
            d["policy_abs_mean_action"] = mean.abs().mean().item()
            d["policy_mean_outside_bounds"] = (mean.abs() > 1.0).double().mean().item()
            d["imagined_objective"] = -policy_loss
            d["value_mean"] = (self.model.value_of(x, onehot) /
                               value_scale(self.options.loss)).mean().item()
            d["value_target_mean"] = terms["vtrace_targets"].mean().item()
            squares = {}
            for name, p in self.model.named_parameters():
                if p.grad is None:
                    continue
                group = _grad_group(name)
                s = p.grad.pow(2).sum()
                squares[group] = squares[group] + s if group in squares else s
            for group in sorted(squares):  # std::map order.
                d["grad_norm_" + group] = math.sqrt(squares[group].item())
        return d

    def compute_gradients(self, batch):
        model_params = self.model.model_parameters()
        policy_params = self.model.policy_parameters()
        terms = compute_model_loss(self.model, batch, self.options.loss)
        noise = self.draw_policy_noise(batch["images"].shape[0])
        lo = self.options.loss
        if lo.value_target != "VALUE_TARGET_VTRACE":
            # LearnerCore::ComputeGradients: the imagined value loss alone, or the mean of both.
            imagined = compute_imagined_value_loss(self.model, terms["start_latents"],
                                                   batch["task_ids"], noise, lo)
            value = (imagined if lo.value_target == "VALUE_TARGET_IMAGINED" else
                     0.5 * (terms["value"] + imagined))
            terms["total"] = terms["total"] + lo.beta_value * (value - terms["value"])
            terms["value"] = value
        h = self.options.loss.burn_in
        policy_loss = compute_policy_loss(self.model, terms["start_latents"], batch["task_ids"],
                                          noise, self.options.loss, batch["actions"][:, h - 1:])
        # Two autograd.grad calls with explicit inputs: each loss reaches only its own params.
        model_grads = torch.autograd.grad([terms["total"]], model_params, allow_unused=True)
        policy_grads = torch.autograd.grad([policy_loss], policy_params, allow_unused=True)
        for p, g in zip(model_params, model_grads):
            p.grad = g if g is not None else torch.zeros_like(p)
        for p, g in zip(policy_params, policy_grads):
            p.grad = g if g is not None else torch.zeros_like(p)
        tensors = [terms["reconstruction_image"], terms["reconstruction_proprio"],
                   terms["consistency"], terms["reward"], terms["value"], terms["q"],
                   terms["total"], policy_loss]
        losses = {"first_nonfinite": ""}
        for name, t in zip(_LOSS_NAMES, tensors):
            losses[name] = t.item()  # One host read per term, as the C++.
            if not math.isfinite(losses[name]) and not losses["first_nonfinite"]:
                losses["first_nonfinite"] = name
        diagnostics = self.fill_diagnostics(terms, batch, losses["policy"])
        return losses, diagnostics

    @staticmethod
    def _clip_gradients(params, max_norm):
        # ClipGradients: the norm is computed (one host read per optimiser) even when
        # clipping is off, because the step reports it.
        squares = [p.grad.pow(2).sum() for p in params if p.grad is not None]
        norm = math.sqrt(torch.stack(squares).sum().item()) if squares else 0.0
        if max_norm > 0 and norm > max_norm:
            factor = max_norm / (norm + 1e-6)
            for p in params:
                if p.grad is not None:
                    p.grad.mul_(factor)
        return norm

    def step(self, batch):
        """LearnerCore::Step without a collective (world size 1, as learner_bench runs it)."""
        self.validate_batch(batch)
        losses, diagnostics = self.compute_gradients(batch)
        stats = {"losses": losses, "diagnostics": diagnostics, "applied": False,
                 "target_updated": False, "skip_reason": ""}
        model_params = self.model.model_parameters()
        policy_params = self.model.policy_parameters()
        grads = [p.grad for p in model_params] + [p.grad for p in policy_params]
        local_nonfinite = bool(losses["first_nonfinite"])
        # The flat buffer the all-reduce would carry, skip flag last: built even on one learner
        # because the C++ builds it (and reads the flag back) regardless of the world size.
        grads.append(torch.full((1,), 1.0 if local_nonfinite else 0.0, dtype=grads[0].dtype,
                                device=grads[0].device))
        flat = torch.cat([g.reshape(-1) for g in grads])
        n = flat.numel() - 1
        any_loss_nonfinite = flat[n].item() != 0.0
        grads_finite = bool(torch.isfinite(flat[:n]).all().item())
        if any_loss_nonfinite or not grads_finite:
            for p in model_params + policy_params:
                p.grad = None
            self.consecutive_nonfinite += 1
            stats["skip_reason"] = (f"loss term '{losses['first_nonfinite']}' is not finite"
                                    if local_nonfinite else "gradient not finite (losses finite)")
            if self.consecutive_nonfinite >= self.options.optimizer.max_consecutive_nonfinite_steps:
                raise RuntimeError(f"stopping: {self.consecutive_nonfinite} consecutive non-finite "
                                   f"steps; last: {stats['skip_reason']}")
            return stats
        grads.pop()
        with torch.no_grad():
            offset = 0
            for g in grads:
                g.copy_(flat[offset:offset + g.numel()].view_as(g))
                offset += g.numel()
        stats["model_grad_norm"] = self._clip_gradients(model_params,
                                                        self.options.optimizer.max_grad_norm)
        stats["policy_grad_norm"] = self._clip_gradients(policy_params,
                                                         self.options.optimizer.max_grad_norm)
        self.model_optimizer.step()
        self.policy_optimizer.step()
        self.consecutive_nonfinite = 0
        self.step_count += 1
        if self.step_count % self.options.optimizer.target_update_period == 0:
            self.model.update_target()
            self.target_updates += 1
            stats["target_updated"] = True
        stats["applied"] = True
        return stats


# ---------------------------------------------------------------------------------------
# The benchmark (bench/learner/learner_bench.cc).
# ---------------------------------------------------------------------------------------


def random_batch(o, b):
    """learner_bench's RandomBatch, drawn from the global generator after the networks."""
    t = o.loss.sequence_length
    return {
        "images": torch.randint(0, 256, (b, t, o.model.image_channels, 64, 64),
                                dtype=torch.uint8),
        "proprio": torch.rand(b, t, o.model.proprio_size) * 2 - 1,
        "actions": torch.randn(b, t, o.model.action_size),
        "rewards": torch.rand(b, t, o.model.num_tasks),
        "behaviour_log_probs": torch.full((b, t), -4.6),
        "task_ids": torch.zeros(b, dtype=torch.long),
    }


def _median(values):
    return sorted(values)[len(values) // 2]  # The upper median, as learner_bench's Median.


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def anchor_seconds(device, repeats):
    """A fixed 1024^3 float matmul (2 GFLOP), median of `repeats` after one warm-up."""
    a = torch.randn(1024, 1024, device=device)
    b = torch.randn(1024, 1024, device=device)
    times = []
    for i in range(repeats + 1):
        _sync(device)
        start = time.perf_counter()
        torch.matmul(a, b)
        _sync(device)
        if i >= 1:
            times.append(time.perf_counter() - start)
    return _median(times)


def _describe(profile, device, steps, ops):
    o = profile.options
    return (f"profile={profile.name} batch={profile.batch_size} L={o.loss.sequence_length} "
            f"latent={o.model.latent_size} enc_ch={o.model.encoder_channels} "
            f"dec_ch={o.model.decoder_channels} hidden={o.model.encoder_hidden} "
            f"clip_model_actions={str(o.loss.clip_model_actions).lower()} ops={ops.name} "
            f"device={device} steps={steps}")


def _print_step(stats):
    for name in _LOSS_NAMES:
        print(f"  loss {name:<32} {stats['losses'][name]:.6g}")
    for name, value in stats["diagnostics"].items():
        print(f"  diagnostic {name:<26} {value:.6g}")


def run_profile(profile, steps, threads, device, ops, check):
    """Times one profile as learner_bench's Run does; returns the process exit status."""
    core = LearnerCore(profile.options, device, ops)
    batch = {k: v.to(device) for k, v in random_batch(profile.options, profile.batch_size).items()}
    params = core.parameter_count()
    print(_describe(profile, device, 2 if check else steps, ops))
    print(f"  params {params}")
    if check:
        return _run_check(core, batch, params)
    times, anchors = [], []
    stats = None
    for i in range(steps + 2):  # Two warm-up steps, as learner_bench.
        if i >= 2:
            anchors.append(anchor_seconds(device, 3))
        _sync(device)
        start = time.perf_counter()
        stats = core.step(batch)
        _sync(device)
        if i >= 2:
            times.append(time.perf_counter() - start)
    _print_step(stats)
    median, minimum, anchor = _median(times), min(times), _median(anchors)
    print(f"  median_step_ms {median * 1e3:.2f}")
    print(f"  min_step_ms {minimum * 1e3:.2f}")
    print(f"  anchor_matmul1024_ms {anchor * 1e3:.3f}")
    print(f"  ratio_step_over_anchor {median / anchor:.1f}")
    print(f"reference_step profile={profile.name} batch={profile.batch_size} threads={threads} "
          f"median_ms={median * 1e3:.2f} min_ms={minimum * 1e3:.2f} anchor_ms={anchor * 1e3:.3f} "
          f"ratio={median / anchor:.1f} params={params}")
    return 0


def _run_check(core, batch, params):
    """Two steps; every loss finite, both steps applied and a non-empty model, else 1."""
    ok = params > 0
    for _ in range(2):
        stats = core.step(batch)
        finite = all(math.isfinite(stats["losses"][n]) for n in _LOSS_NAMES)
        ok = ok and finite and stats["applied"]
    _print_step(stats)
    print(f"reference_step check={'ok' if ok else 'FAILED'} params={params} "
          f"steps_applied={core.step_count}")
    return 0 if ok else 1


def _parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="", help="a config textproto (configs/*.textproto)")
    parser.add_argument("--profile", default=None, choices=("paper", "small", "both"),
                        help="learner_bench's built-in profiles (default: both without --config)")
    parser.add_argument("--steps", type=int, default=10, help="measured steps after 2 warm-up")
    parser.add_argument("--threads", type=int, default=0,
                        help="intra-op threads; 0 = the machine's hardware threads")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--ops", default="reference", choices=tuple(OPS),
                        help="reference: stock eager ops; mirror: the C++'s op choices (Ops)")
    parser.add_argument("--check", action="store_true",
                        help="run 2 steps and exit 1 unless the losses are finite")
    args = parser.parse_args(argv)
    if args.profile is None:
        args.profile = "" if args.config else "both"
    if args.steps < 1:
        parser.error("--steps must be >= 1")
    return args


def main(argv):
    args = _parse_args(argv)
    threads = args.threads if args.threads > 0 else os.cpu_count()
    # Before any parallel work: the inter-op pool can only be sized once.
    torch.set_num_interop_threads(1)
    torch.set_num_threads(threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device=cuda but torch sees no CUDA device", file=sys.stderr)
        return 1
    device = torch.device("cuda", 0) if args.device == "cuda" else torch.device("cpu")
    print(f"machine: {os.cpu_count()} hardware threads, torch {torch.__version__} intra-op "
          f"threads {torch.get_num_threads()}, inter-op threads "
          f"{torch.get_num_interop_threads()}, device {device}")
    profiles = []
    if args.config:
        try:
            profiles.append(_options_from_config(args.config))
        except (ConfigError, OSError) as e:
            print(e, file=sys.stderr)
            return 1
    if args.profile in ("paper", "both"):
        profiles.append(paper_profile())
    if args.profile in ("small", "both"):
        profiles.append(small_profile())
    rc = 0
    for profile in profiles:
        rc |= run_profile(profile, args.steps, threads, device, OPS[args.ops], args.check)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
