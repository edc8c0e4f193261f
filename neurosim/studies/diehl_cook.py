r"""Diehl & Cook (2015): unsupervised learning of MNIST digits with STDP.

784 Poisson inputs (rate ``pixel * max_rate_hz``, pixels in [0, 1]; 63.75 Hz is the original's
``pixel / 8 * intensity`` with intensity 2 and pixels in 0..255) drive ``n_exc`` excitatory
conductance-based LIF neurons through all-to-all plastic synapses. Each excitatory neuron excites
one inhibitory neuron (weight 10.4), which inhibits every other excitatory neuron (17.0): a soft
winner-take-all. Excitatory thresholds adapt, ``v_th + theta``, theta gaining 0.05 mV at every
spike and decaying with a time constant of 1e4 s. The plastic rule is the original's triplet
rule with nearest-spike traces (tau_pre 20 ms, tau_post1 20 ms, tau_post2 40 ms):

.. math::

    \text{pre spike: } w \leftarrow w - \eta_\mathrm{pre}\, o_1, \qquad
    \text{post spike: } w \leftarrow w + \eta_\mathrm{post}\, r_1\, o_2^\mathrm{before},
    \qquad w \in [0, 1]

with :math:`\eta_\mathrm{pre} = 10^{-4}`, :math:`\eta_\mathrm{post} = 10^{-2}`; before each
presentation every excitatory neuron's incoming weights are scaled to sum to 78.

An image is shown for 350 ms, then the inputs are silent for 150 ms; an image that draws fewer
than 5 excitatory spikes is shown again with the maximum rate raised by 31.875 Hz (at most
``max_presentations`` times, the original had no limit). After one unsupervised epoch each
neuron is labelled with the class of training images it answered most strongly (mean spike
count), and a test image is classified as the class whose neurons answer it most strongly on
average (the original's evaluation; a neuron that never fired is unassigned).

What differs from the original Brian 1 code (github.com/peter-u-diehl/stdp-mnist): no random
input delays (0-10 ms there), exponential-Euler integration of the conductance model, the
theta offset (20 mV there) folded into ``theta`` starting at 0, and training in segments of
``checkpoint_every`` images, each a network built afresh from the saved weights and thresholds
(membrane state, conductances and STDP traces restart at rest; after 150 ms of silence they have
nearly decayed anyway), with Poisson inputs seeded by ``(seed, first image of the segment)``: so
an interrupted training that resumes from its checkpoint computes exactly what an uninterrupted
one does. The report helpers are in :mod:`neurosim.studies.diehl_cook_report`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from neurosim.checks import check_array, check_choice, check_scalar
from neurosim.network import (
    STDP,
    Network,
    PoissonGroup,
    Population,
    Projection,
    SpikeMonitor,
    connect_dense,
    connect_explicit,
)
from neurosim.neurons.lif import LIFParams
from neurosim.studies.diehl_cook_state import (
    Checkpoint,
    assign_labels,
    checkpoint_path,
    evaluate,
    input_rates,
    load_checkpoint,
    predict,
    save_checkpoint,
)

__all__ = ["Checkpoint", "DiehlCookConfig", "DiehlCookModel", "TrainingResult",
           "assign_labels", "build_network", "evaluate", "initial_weights", "input_rates",
           "predict", "present", "respond", "train"]

N_INPUT = 784
N_CLASSES = 10


@dataclass(frozen=True)
class DiehlCookConfig:
    """Every setting of the study; the defaults are the original's (400 neurons, one epoch).

    Times are in seconds, rates in Hz, potentials in mV, weights in units of the leak
    conductance (the conductance model of :class:`neurosim.network.Population`).
    ``n_label`` training images (the last ones of the epoch) assign the labels:
    ``label_pass="frozen"`` shows them again after training with learning and thresholds frozen
    (the original's evaluation), ``"training"`` uses the spike counts recorded while learning
    (no extra pass). The first ``n_test`` test images are classified; the test set never
    informs a choice.
    """

    n_exc: int = 400
    n_train: int = 60_000
    n_test: int = 10_000
    n_label: int = 10_000
    label_pass: str = "frozen"
    seed: int = 0
    dt_s: float = 0.5e-3
    present_s: float = 0.35
    rest_s: float = 0.15
    max_rate_hz: float = 63.75
    rate_step_hz: float = 31.875  # the original's intensity + 1: 255 / 8 Hz more
    min_spikes: int = 5
    max_presentations: int = 20
    weight_total: float = 78.0
    w_init_max: float = 0.3
    w_exc_inh: float = 10.4
    w_inh_exc: float = 17.0
    theta_plus: float = 0.05
    tau_theta_s: float = 1e4
    t_ref_exc_s: float = 5e-3
    eta_pre: float = 1e-4
    eta_post: float = 1e-2
    checkpoint_every: int = 1000
    dtype: str = "float64"  # theta's decay per step (1 - 5e-8) is lost in float32
    backend: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("n_exc", "n_train", "n_test", "n_label", "min_spikes",
                     "max_presentations", "checkpoint_every"):
            check_scalar(name, getattr(self, name), positive=True, integer=True)
        check_scalar("seed", self.seed, nonnegative=True, integer=True, maximum=2**63 - 1)
        for name in ("dt_s", "present_s", "rest_s", "max_rate_hz", "weight_total",
                     "w_init_max", "w_exc_inh", "w_inh_exc", "tau_theta_s", "eta_post"):
            check_scalar(name, getattr(self, name), positive=True)
        for name in ("rate_step_hz", "theta_plus", "t_ref_exc_s", "eta_pre"):
            check_scalar(name, getattr(self, name), nonnegative=True)
        check_choice("label_pass", self.label_pass, ("frozen", "training"))
        check_choice("dtype", self.dtype, ("float32", "float64"))
        if self.n_label > self.n_train:
            raise ValueError(f"n_label ({self.n_label}) must be <= n_train ({self.n_train}): "
                             "the labels come from the last n_label training images")
        if self.highest_rate_hz * self.dt_s > 1.0:
            raise ValueError(f"the last presentation's rate ({self.highest_rate_hz:g} Hz) "
                             f"exceeds 1/dt_s = {1 / self.dt_s:g} Hz: lower max_presentations "
                             "or rate_step_hz")
        for name in ("present_s", "rest_s"):
            steps = getattr(self, name) / self.dt_s
            if abs(steps - round(steps)) > 1e-9 * steps:
                raise ValueError(f"{name} must be a whole number of dt_s steps")

    @property
    def highest_rate_hz(self) -> float:
        """Maximum input rate of the last allowed presentation of an image."""
        return self.max_rate_hz + (self.max_presentations - 1) * self.rate_step_hz

    @classmethod
    def quick(cls, **overrides: Any) -> DiehlCookConfig:
        """The small setting of ``neurosim learn diehl-cook --quick``: 100 neurons, 10,000
        training images (the last 2,000 assign labels, from the counts recorded while
        learning), 2,000 test images."""
        settings = {"n_exc": 100, "n_train": 10_000, "n_test": 2_000, "n_label": 2_000,
                    "label_pass": "training", **overrides}
        return cls(**settings)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def training_fields(self) -> dict[str, Any]:
        """The settings a training run depends on (a checkpoint must match them)."""
        loose = ("n_test", "label_pass", "backend")
        return {k: v for k, v in self.as_dict().items() if k not in loose}


class DiehlCookModel(NamedTuple):
    """A built network and the handles the training loop needs."""

    net: Network
    inputs: PoissonGroup
    exc: Population
    inh: Population
    input_proj: Projection
    monitor: SpikeMonitor  # spikes of the excitatory neurons
    plastic: bool


class TrainingResult(NamedTuple):
    """What :func:`train` returns. ``label_counts`` (n_label, n_exc): spike counts of the
    last ``n_label`` training images while learning, ``label_indices`` their image indices."""

    weights: np.ndarray  # (784, n_exc) float32, input -> excitatory
    theta: np.ndarray  # (n_exc,) mV
    label_counts: np.ndarray
    label_indices: np.ndarray
    presentations: int  # image presentations, repeats included
    seconds: float  # wall time of this call's training (excluding a resumed part)
    kernel_s: float  # of which in the network's kernel calls (the rest: host work)
    images_trained: int  # images trained in this call
    resumed_from: int  # first image this call trained (0: from scratch)


def initial_weights(config: DiehlCookConfig) -> np.ndarray:
    """The original's random input weights, ``(u + 0.01) * w_init_max`` with u uniform in
    [0, 1), shape (784, n_exc), seeded by ``config.seed`` (float32, the synapses' type)."""
    rng = np.random.default_rng(config.seed)
    return ((rng.random((N_INPUT, config.n_exc)) + 0.01) * config.w_init_max).astype(np.float32)


def segment_seed(seed: int, first_image: int) -> int:
    """The Poisson inputs' seed of the segment starting at ``first_image`` (64 bits)."""
    return int(np.random.SeedSequence([seed, first_image]).generate_state(1, np.uint64)[0])


def build_network(config: DiehlCookConfig, weights: np.ndarray | None = None,
                  theta: np.ndarray | None = None, *, plastic: bool = True,
                  poisson_seed: int = 0) -> DiehlCookModel:
    """The Diehl & Cook network, with ``weights`` (784, n_exc) input -> excitatory (default
    :func:`initial_weights`) and thresholds ``theta`` (n_exc,) in mV (default 0). With
    ``plastic=False`` the input synapses are frozen (the test phase)."""
    n = config.n_exc
    weights = initial_weights(config) if weights is None else check_array(
        "weights", weights, ndim=2, dtype=np.float64)
    if weights.shape != (N_INPUT, n):
        raise ValueError(f"weights must have shape ({N_INPUT}, {n}), got {weights.shape}")
    net = Network(config.dt_s, dtype=np.dtype(config.dtype), backend=config.backend)
    inputs = PoissonGroup(N_INPUT, 0.0, seed=poisson_seed, name="input")
    exc_params = LIFParams(tau_m_s=0.1, v_rest=-65.0, v_reset=-65.0, v_th=-52.0,
                           t_ref_s=config.t_ref_exc_s)
    exc = Population(n, exc_params, tau_exc_s=1e-3, tau_inh_s=2e-3,
                     synapse_model="conductance", e_exc=0.0, e_inh=-100.0,
                     theta_plus=config.theta_plus, tau_theta_s=config.tau_theta_s, name="exc")
    inh_params = LIFParams(tau_m_s=0.01, v_rest=-60.0, v_reset=-45.0, v_th=-40.0,
                           t_ref_s=2e-3)
    inh = Population(n, inh_params, tau_exc_s=1e-3, tau_inh_s=2e-3,
                     synapse_model="conductance", e_exc=0.0, e_inh=-85.0, name="inh")
    rule = STDP(tau_pre_s=0.02, tau_post_s=0.02, tau_y_s=0.04, a_plus=0.0,
                a3_plus=config.eta_post, a_minus=config.eta_pre, w_min=0.0, w_max=1.0,
                traces="nearest")
    input_proj = connect_dense(inputs, exc, weights, target="exc", plasticity=rule)
    one_to_one = np.arange(n)
    exc_inh = connect_explicit(exc, inh, one_to_one, one_to_one, config.w_exc_inh,
                               target="exc")
    pre, post = np.nonzero(~np.eye(n, dtype=bool))  # all but self
    inh_exc = connect_explicit(inh, exc, pre, post, config.w_inh_exc, target="inh")
    monitor = SpikeMonitor(exc)
    net.add(inputs, exc, inh, input_proj, exc_inh, inh_exc, monitor)
    if theta is not None:
        net.set_state(exc, theta=check_array("theta", theta, ndim=1, dtype=np.float64))
    if not plastic:
        net.set_learning(False)
    return DiehlCookModel(net, inputs, exc, inh, input_proj, monitor, plastic)


def present(model: DiehlCookModel, pixels: np.ndarray, config: DiehlCookConfig
            ) -> tuple[np.ndarray, int]:
    """Show one image (pixels in [0, 1], shape (784,)): ``present_s`` of Poisson input, then
    ``rest_s`` of silence, again with a higher rate while fewer than ``min_spikes`` excitatory
    spikes answer (plastic models normalise the input weights before each showing). Returns
    the excitatory spike counts of the last showing and the number of showings."""
    net = model.net
    for attempt in range(config.max_presentations):
        if model.plastic:
            net.normalize_weights(model.input_proj, config.weight_total)
        rate = config.max_rate_hz + attempt * config.rate_step_hz
        net.set_poisson_rates(model.inputs, input_rates(pixels, rate))
        model.monitor.clear()
        net.run(config.present_s, progress=False)
        counts = model.monitor.count
        net.set_poisson_rates(model.inputs, 0.0)
        net.run(config.rest_s, progress=False)
        if counts.sum() >= config.min_spikes:
            break
    model.monitor.clear()
    return counts, attempt + 1


def respond(config: DiehlCookConfig, weights: np.ndarray, theta: np.ndarray,
            images: np.ndarray, *, seed_key: int, progress: bool = False,
            desc: str = "responses") -> np.ndarray:
    """Spike counts (len(images), n_exc) of a frozen network: learning off and the
    thresholds put back to ``theta`` after every image (the original's test mode).
    ``seed_key`` picks the Poisson inputs' stream (distinct for each pass)."""
    model = build_network(config, weights, theta, plastic=False,
                          poisson_seed=segment_seed(config.seed, seed_key))
    theta = np.asarray(theta, dtype=np.float64)
    counts = np.zeros((len(images), config.n_exc), np.int32)
    for k in _progress(range(len(images)), progress, desc, len(images), 0):
        counts[k], _ = present(model, images[k], config)
        model.net.set_state(model.exc, theta=theta)
    return counts


def _progress(iterable, enabled: bool, desc: str, total: int, initial: int):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, initial=initial, unit="img",
                dynamic_ncols=True, mininterval=1.0)


def train(config: DiehlCookConfig, images: np.ndarray, labels: np.ndarray,
          checkpoint_dir: str | Path | None = None, *, progress: bool = True) -> TrainingResult:
    """One unsupervised epoch over the first ``config.n_train`` of ``images`` (N, 784) in
    [0, 1]. With ``checkpoint_dir``, a checkpoint (weights, thresholds, next image, the
    label-assignment counts so far) is written atomically after every segment of
    ``checkpoint_every`` images, and a run finding one there resumes from it (a checkpoint of
    a different configuration is refused). ``labels`` are only stored, never used to learn."""
    images = check_array("images", images, ndim=2, dtype=np.float32)
    labels = check_array("labels", labels, ndim=1, kind="iu", dtype=np.int64)
    if images.shape[1] != N_INPUT or len(images) < config.n_train or len(labels) < len(images):
        raise ValueError(f"need at least n_train = {config.n_train} images of {N_INPUT} pixels "
                         f"with labels, got images {images.shape} and labels {labels.shape}")
    path = checkpoint_path(checkpoint_dir) if checkpoint_dir is not None else None
    state = load_checkpoint(path, config) if path is not None and path.exists() else None
    if state is None:
        state = Checkpoint(initial_weights(config), np.zeros(config.n_exc), 0,
                           np.zeros((config.n_label, config.n_exc), np.int32), 0)
    first_label = config.n_train - config.n_label
    resumed_from, start_s, kernel_s = state.next_image, time.perf_counter(), 0.0
    bar = _progress(None, progress, "training", config.n_train, state.next_image)
    try:
        while state.next_image < config.n_train:
            state, segment_kernel_s = _train_segment(config, state, images, first_label, bar)
            kernel_s += segment_kernel_s
            if path is not None:
                save_checkpoint(path, state, config)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start_s
    return TrainingResult(state.weights, state.theta, state.label_counts,
                          np.arange(first_label, config.n_train), state.presentations,
                          seconds, kernel_s, config.n_train - resumed_from, resumed_from)


def _train_segment(config: DiehlCookConfig, state: Checkpoint, images: np.ndarray,
                   first_label: int, bar) -> tuple[Checkpoint, float]:
    start = state.next_image
    stop = min(start + config.checkpoint_every, config.n_train)
    model = build_network(config, state.weights, state.theta,
                          poisson_seed=segment_seed(config.seed, start))
    label_counts = state.label_counts.copy()
    presentations = state.presentations
    for k in range(start, stop):
        counts, shown = present(model, images[k], config)
        presentations += shown
        if k >= first_label:
            label_counts[k - first_label] = counts
        if bar is not None:
            bar.update(1)
    weights = model.net.weights_of(model.input_proj).reshape(N_INPUT, config.n_exc)
    theta = model.net.state_of(model.exc)["theta"]
    return Checkpoint(weights.astype(np.float32), theta.astype(np.float64), stop,
                      label_counts, presentations), model.net.run_s
