import warnings

import numpy as np
import pytest
from sklearn.linear_model import Perceptron as SkPerceptron

import neurosim as ns
from neurosim.datasets import load
from tests import naive

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
XOR_Y = np.array([0, 1, 1, 0])


@pytest.fixture(scope="module")
def digits():
    return load("digits")


def test_and_converges_and_xor_does_not():
    p = ns.Perceptron(max_epochs=100).fit(XOR_X, XOR_X[:, 0].astype(int) & XOR_X[:, 1].astype(int))
    assert p.converged_ and p.score(XOR_X, [0, 0, 0, 1]) == 1.0
    with pytest.warns(ns.NotConvergedWarning, match="linearly separable"):
        p = ns.Perceptron(max_epochs=100).fit(XOR_X, XOR_Y)
    assert not p.converged_
    assert p.n_epochs_ == 100 and (p.errors_ > 0).all()
    assert p.score(XOR_X, XOR_Y) < 1.0  # no line separates XOR


@pytest.mark.parametrize("average", [False, True])
def test_ovr_kernel_matches_naive(digits, average):
    x, y = digits.x_train[:300].astype(float), digits.y_train[:300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ns.NotConvergedWarning)
        p = ns.Perceptron(max_epochs=6, seed=3, average=average).fit(x, y)
    order = ns.Perceptron(max_epochs=6, seed=3)._orders(len(x))
    targets = (y[:, None] == np.arange(10)).astype(int)
    w, b = naive.perceptron_train_ovr(x, targets, order, 1.0, average=average)
    np.testing.assert_allclose(p.weights_, w, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(p.bias_, b, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(p.decision_function(x), naive.perceptron_scores(x, w, b),
                               rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("average", [False, True])
def test_multiclass_kernel_matches_naive(digits, average):
    x, y = digits.x_train[:300].astype(float), digits.y_train[:300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ns.NotConvergedWarning)
        p = ns.Perceptron(max_epochs=6, seed=3, rule="multiclass", average=average).fit(x, y)
    order = p._orders(len(x))
    w, b = naive.perceptron_train_multiclass(x, y, 10, order, 1.0, average=average)
    np.testing.assert_allclose(p.weights_, w, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(p.bias_, b, rtol=1e-10, atol=1e-10)


def test_digits_accuracy_within_one_point_of_sklearn(digits):
    """Same data, same number of epochs, mean over seeds: OvR Rosenblatt rule vs scikit-learn."""
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(5):
            sk = SkPerceptron(random_state=seed).fit(digits.x_train, digits.y_train)
            theirs.append(sk.score(digits.x_test, digits.y_test))
            p = ns.Perceptron(max_epochs=sk.n_iter_, seed=seed).fit(digits.x_train,
                                                                    digits.y_train)
            ours.append(p.score(digits.x_test, digits.y_test))
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.01, (ours, theirs)
    assert np.mean(ours) > 0.9


def test_same_seed_same_weights_other_seed_other_order(digits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = ns.Perceptron(max_epochs=3, seed=1).fit(digits.x_train, digits.y_train)
        b = ns.Perceptron(max_epochs=3, seed=1).fit(digits.x_train, digits.y_train)
        c = ns.Perceptron(max_epochs=3, seed=2).fit(digits.x_train, digits.y_train)
    assert np.array_equal(a.weights_, b.weights_)
    assert not np.array_equal(a.weights_, c.weights_)


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_two_layer_backprop_learns_xor(loss):
    for seed in range(3):
        net = ns.TwoLayerPerceptron(n_hidden=4, loss=loss, lr=2.0, epochs=6000, seed=seed)
        net.fit(XOR_X, XOR_Y)
        assert net.score(XOR_X, XOR_Y) == 1.0, (loss, seed)
        assert net.loss_history_[-1] < 0.1 * net.loss_history_[0]


def test_two_layer_backprop_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    x, y = rng.random((6, 3)), np.array([0, 1, 2, 1, 0, 2])
    net = ns.TwoLayerPerceptron(n_hidden=5, lr=1e-9, epochs=1, loss="cross_entropy").fit(x, y)
    base_w1 = net.w1_.copy()

    def loss_at(w1):
        net.w1_ = w1
        _, out = net._forward(x)
        t = np.eye(3)[y]
        return -np.mean(np.sum(t * np.log(out) + (1 - t) * np.log(1 - out), axis=1))

    eps = 1e-6
    bumped = base_w1.copy()
    bumped[1, 2] += eps
    numeric = (loss_at(bumped) - loss_at(base_w1)) / eps
    # one more epoch with a known lr: the change in w1[1, 2] is -lr * gradient
    net2 = ns.TwoLayerPerceptron(n_hidden=5, lr=1.0, epochs=1, loss="cross_entropy").fit(x, y)
    fresh = ns.TwoLayerPerceptron(n_hidden=5, lr=1e-12, epochs=1, loss="cross_entropy").fit(x, y)
    analytic = -(net2.w1_[1, 2] - fresh.w1_[1, 2])
    assert analytic == pytest.approx(numeric, rel=1e-3, abs=1e-7)


@pytest.mark.parametrize("kwargs, err", [
    ({"lr": 0}, ValueError), ({"lr": float("nan")}, ValueError), ({"max_epochs": 0}, ValueError),
    ({"rule": "softmax"}, ValueError), ({"lr": "1"}, TypeError),
])
def test_bad_hyperparameters(kwargs, err):
    with pytest.raises(err):
        ns.Perceptron(**kwargs)


def test_bad_data():
    p = ns.Perceptron()
    with pytest.raises(ValueError, match="same number of samples"):
        p.fit(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match="finite"):
        p.fit(np.array([[np.nan, 0], [1, 1]]), [0, 1])
    with pytest.raises(ValueError, match="two classes"):
        p.fit(np.zeros((3, 2)), [1, 1, 1])
    with pytest.raises(RuntimeError, match="fit"):
        p.predict(np.zeros((1, 2)))
