r"""A two-layer perceptron with sigmoid units trained by backpropagation (Rumelhart, Hinton &
Williams 1986): the classic answer to the single-layer perceptron's XOR limit.

.. math::

    h = \sigma(x W_1 + b_1), \qquad \hat y = \sigma(h W_2 + b_2)

Full-batch gradient descent on the mean-squared error
:math:`\tfrac{1}{2N}\sum (\hat y - t)^2` or the binary cross-entropy
:math:`-\tfrac{1}{N}\sum [t \ln \hat y + (1 - t) \ln(1 - \hat y)]` (one output unit per class,
one-hot targets; a single unit for two classes). The matrices are tiny, so NumPy does the work.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurosim.checks import check_array, check_choice, check_scalar


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic


class TwoLayerPerceptron:
    """Sigmoid hidden layer + sigmoid output layer, trained by backprop and gradient descent.

    Parameters
    ----------
    n_hidden : int
    lr : float
    epochs : int
    loss : {"mse", "cross_entropy"}
    seed : int
        Seeds the weight initialisation (uniform in +-1/sqrt(fan_in)).

    Attributes
    ----------
    classes_, w1_, b1_, w2_, b2_, loss_history_ (loss per epoch).
    """

    def __init__(self, n_hidden: int = 4, *, lr: float = 1.0, epochs: int = 5000,
                 loss: str = "cross_entropy", seed: int = 0) -> None:
        self.n_hidden = check_scalar("n_hidden", n_hidden, positive=True, integer=True)
        self.lr = check_scalar("lr", lr, positive=True)
        self.epochs = check_scalar("epochs", epochs, positive=True, integer=True)
        self.loss = check_choice("loss", loss, ("mse", "cross_entropy"))
        self.seed = check_scalar("seed", seed, nonnegative=True, integer=True)

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hidden = _sigmoid(x @ self.w1_ + self.b1_)
        return hidden, _sigmoid(hidden @ self.w2_ + self.b2_)

    def fit(self, x: Any, y: Any) -> TwoLayerPerceptron:
        x = check_array("x", x, ndim=2, dtype=np.float64)
        y = check_array("y", y, ndim=1, kind="iub", finite=False)
        if len(y) != len(x):
            raise ValueError(f"x and y must have the same number of samples, got {len(x)} and "
                             f"{len(y)}")
        self.classes_, labels = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("y must contain at least two classes")
        n_out = 1 if len(self.classes_) == 2 else len(self.classes_)
        targets = (labels == 1).astype(float)[:, None] if n_out == 1 else np.eye(n_out)[labels]
        rng = np.random.default_rng(self.seed)
        n_in = x.shape[1]
        self.w1_ = rng.uniform(-1, 1, (n_in, self.n_hidden)) / np.sqrt(n_in) * 2.0
        self.b1_ = np.zeros(self.n_hidden)
        self.w2_ = rng.uniform(-1, 1, (self.n_hidden, n_out)) / np.sqrt(self.n_hidden) * 2.0
        self.b2_ = np.zeros(n_out)
        n = len(x)
        history = np.empty(self.epochs)
        for epoch in range(self.epochs):
            hidden, out = self._forward(x)
            if self.loss == "mse":
                history[epoch] = 0.5 * np.mean(np.sum((out - targets) ** 2, axis=1))
                delta_out = (out - targets) * out * (1.0 - out) / n
            else:
                clipped = np.clip(out, 1e-12, 1 - 1e-12)
                history[epoch] = -np.mean(np.sum(targets * np.log(clipped)
                                                 + (1 - targets) * np.log(1 - clipped), axis=1))
                delta_out = (out - targets) / n  # sigmoid + cross-entropy: the derivative cancels
            delta_hidden = (delta_out @ self.w2_.T) * hidden * (1.0 - hidden)
            self.w2_ -= self.lr * hidden.T @ delta_out
            self.b2_ -= self.lr * delta_out.sum(axis=0)
            self.w1_ -= self.lr * x.T @ delta_hidden
            self.b1_ -= self.lr * delta_hidden.sum(axis=0)
        self.loss_history_ = history
        return self

    def predict_proba(self, x: Any) -> np.ndarray:
        if not hasattr(self, "w1_"):
            raise RuntimeError("call fit() before predict()")
        x = check_array("x", x, ndim=2, dtype=np.float64)
        if x.shape[1] != self.w1_.shape[0]:
            raise ValueError(f"x must have {self.w1_.shape[0]} features, got {x.shape[1]}")
        return self._forward(x)[1]

    def predict(self, x: Any) -> np.ndarray:
        out = self.predict_proba(x)
        if out.shape[1] == 1:
            return self.classes_[(out[:, 0] > 0.5).astype(int)]
        return self.classes_[np.argmax(out, axis=1)]

    def score(self, x: Any, y: Any) -> float:
        return float(np.mean(self.predict(x) == np.asarray(y)))
