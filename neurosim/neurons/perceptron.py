r"""Rosenblatt's perceptron: step units trained by the perceptron learning rule.

.. math::

    o_k = [\, b_k + w_k \cdot x > 0 \,], \qquad
    w_k \leftarrow w_k + \eta\, (t_k - o_k)\, x, \quad b_k \leftarrow b_k + \eta\, (t_k - o_k)

Multi-class problems use one unit per class, trained either one-vs-rest (``rule="ovr"``: unit
``k`` learns "is it class k", all units independently, predictions by the largest
:math:`b_k + w_k \cdot x`) or with the multi-class rule (``rule="multiclass"``: on a mistake
the true class's unit moves towards :math:`x` and the winning unit away from it). Two classes
use a single unit. Each epoch visits the samples in an order shuffled by ``seed``; training
stops after an epoch without mistakes, which happens in finitely many steps exactly when the
data are linearly separable (Novikoff's theorem). XOR is not, so :attr:`converged_` stays
``False`` and a :class:`NotConvergedWarning` says so. ``average=True`` returns the averaged
perceptron: the mean of the weights :math:`w_0 = 0, w_1, \dots, w_N` over all :math:`N` steps
(Freund & Schapire 1999), kept with Daume's running-sum trick. ``stop_on_convergence=False``
trains for exactly ``max_epochs`` epochs, as scikit-learn does with ``tol=None``: after an epoch
without mistakes no later epoch makes one (the weights classify every sample), so those epochs
are not run, but the averaged weights count their steps.

``dtype`` is float64 or float32 (the input, the weights and the scores' inputs; the scores are
summed, and the averaging sums kept, in float64). On the CPU one pass over the samples serves
all one-vs-rest units of a thread, and only the nonzero inputs are read (see
:func:`neurosim.kernels.cpu.perceptron_train_ovr`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from neurosim.backends import get_backend
from neurosim.checks import check_array, check_choice, check_dtype_arg, check_scalar


class NotConvergedWarning(UserWarning):
    """Training ended with mistakes left: the data may not be linearly separable."""


class Perceptron:
    """Single-layer perceptron classifier (scikit-learn-like ``fit``/``predict``/``score``).

    Parameters
    ----------
    lr : float
        Learning rate :math:`\\eta` (> 0).
    max_epochs : int
        Upper bound on passes over the training set.
    rule : {"ovr", "multiclass"}
    average : bool
        Use the averaged weights for prediction.
    shuffle : bool
        Shuffle the visiting order each epoch (by ``seed``).
    seed : int
    backend : {"cpu", "cuda", "auto"}
    dtype : {"float64", "float32"}
        Precision of the inputs and weights.
    stop_on_convergence : bool
        Stop after an epoch without mistakes (default); ``False``: exactly ``max_epochs``
        epochs (the same weights; the averaged weights also average over the epochs after
        convergence, and ``errors_`` has a row of zeros for each of them).

    Attributes
    ----------
    classes_, weights_ (units, features), bias_ (units,), errors_ (epochs, units) mistakes per
    epoch, n_epochs_, converged_.
    """

    def __init__(self, lr: float = 1.0, max_epochs: int = 30, *, rule: str = "ovr",
                 average: bool = False, shuffle: bool = True, seed: int = 0,
                 backend: str = "cpu", dtype: Any = np.float64,
                 stop_on_convergence: bool = True) -> None:
        self.lr = check_scalar("lr", lr, positive=True)
        self.max_epochs = check_scalar("max_epochs", max_epochs, positive=True, integer=True)
        self.rule = check_choice("rule", rule, ("ovr", "multiclass"))
        self.average = bool(average)
        self.shuffle = bool(shuffle)
        self.seed = check_scalar("seed", seed, nonnegative=True, integer=True)
        self.backend = backend
        self.dtype = check_dtype_arg(dtype)
        self.stop_on_convergence = bool(stop_on_convergence)

    def _orders(self, n_samples: int) -> np.ndarray:
        if not self.shuffle:
            return np.tile(np.arange(n_samples, dtype=np.int64), (self.max_epochs, 1))
        rng = np.random.default_rng(self.seed)
        return np.stack([rng.permutation(n_samples) for _ in range(self.max_epochs)]).astype(
            np.int64)

    def fit(self, x: Any, y: Any) -> Perceptron:
        """Train on ``x`` (samples, features) and labels ``y`` (samples,); returns ``self``."""
        x = check_array("x", x, ndim=2, dtype=self.dtype)
        y = check_array("y", y, ndim=1, kind="iub", finite=False)
        if len(y) != len(x):
            raise ValueError(f"x and y must have the same number of samples, got {len(x)} and "
                             f"{len(y)}")
        self.classes_, labels = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("y must contain at least two classes")
        n_units = 1 if len(self.classes_) == 2 else len(self.classes_)
        kernels = get_backend(self.backend)
        weights = np.zeros((n_units, x.shape[1]), self.dtype)
        bias = np.zeros(n_units, self.dtype)
        w_sum, b_sum = np.zeros(weights.shape), np.zeros(n_units)
        errors = np.full((self.max_epochs, n_units), -1, np.int64)
        counts = np.ones(n_units)
        order = self._orders(len(x))
        if n_units == 1 or self.rule == "ovr":
            targets = (labels[:, None] == np.arange(n_units)[None, :]).astype(np.int64)
            if n_units == 1:
                targets = (labels == 1).astype(np.int64)[:, None]
            kernels.perceptron_train_ovr(x, targets, weights, bias, w_sum, b_sum, order, self.lr,
                                         errors, counts)
        else:
            kernels.perceptron_train_multiclass(x, labels.astype(np.int64), weights, bias, w_sum,
                                                b_sum, order, self.lr, errors, counts)
            errors = errors[:, :1]
        if not self.stop_on_convergence:
            # the epochs not run after a unit's clean epoch: no mistakes, no updates, but steps
            errors[errors < 0] = 0
            counts[:] = self.max_epochs * len(x) + 1
        ran = (errors >= 0).any(axis=1)
        self.errors_ = errors[ran]
        self.n_epochs_ = int(ran.sum())
        # every unit (one shared unit for the multi-class rule) had an epoch without mistakes
        self.converged_ = bool((errors == 0).any(axis=0).all())
        if self.average:
            weights = (weights - w_sum / counts[:, None]).astype(self.dtype)
            bias = (bias - b_sum / counts).astype(self.dtype)
        self.weights_, self.bias_ = weights, bias
        if not self.converged_:
            warnings.warn(
                f"perceptron did not converge in {self.max_epochs} epochs (mistakes remain): "
                "the classes may not be linearly separable", NotConvergedWarning, stacklevel=2)
        return self

    def decision_function(self, x: Any) -> np.ndarray:
        """``bias + weights . x`` per unit: (samples, units)."""
        if not hasattr(self, "weights_"):
            raise RuntimeError("call fit() before predict()")
        x = check_array("x", x, ndim=2, dtype=self.weights_.dtype)
        if x.shape[1] != self.weights_.shape[1]:
            raise ValueError(f"x must have {self.weights_.shape[1]} features, got {x.shape[1]}")
        scores = np.empty((len(x), len(self.bias_)), self.weights_.dtype)
        get_backend(self.backend).perceptron_scores(x, self.weights_, self.bias_, scores)
        return scores

    def predict(self, x: Any) -> np.ndarray:
        scores = self.decision_function(x)
        if scores.shape[1] == 1:
            return self.classes_[(scores[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def score(self, x: Any, y: Any) -> float:
        """Accuracy on ``(x, y)``."""
        predicted = self.predict(x)
        y = check_array("y", y, ndim=1, kind="iub", finite=False)
        if len(y) != len(predicted):
            raise ValueError(f"y must have one label per sample ({len(predicted)}), got "
                             f"{len(y)}")
        return float(np.mean(predicted == y))
