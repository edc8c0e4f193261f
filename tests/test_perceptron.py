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


def _per_unit_rule(x, targets, order, lr):
    """The per-unit rule (``scalar.ovr_unit_train``, as compiled for the CPU) unit by unit."""
    from neurosim.kernels import cpu

    n_units = targets.shape[1]
    w, b = np.zeros((n_units, x.shape[1]), x.dtype), np.zeros(n_units, x.dtype)
    ws, bs = np.zeros(w.shape), np.zeros(n_units)
    errors = np.full((len(order), n_units), -1, np.int64)
    counts = np.array([cpu.ovr_unit_train(k, x, targets, w, b, ws, bs, order, lr, errors)
                       for k in range(n_units)])
    return w, b, ws, bs, errors, counts


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_fused_sparse_kernel_equals_per_unit_rule_bit_for_bit(dtype, n_threads):
    """One pass per thread over the nonzero inputs for all units == the per-unit rule, exactly,
    with sparse real-valued data and a feature count that is not a multiple of 8."""
    import numba

    from neurosim.kernels import cpu

    rng = np.random.default_rng(5)
    x = rng.normal(size=(200, 21)) * (rng.random((200, 21)) < 0.4)
    x[:, 3] = 0.0
    x = x.astype(dtype)
    labels = rng.integers(0, 7, 200)
    targets = (labels[:, None] == np.arange(7)).astype(np.int64)
    order = np.stack([rng.permutation(200) for _ in range(5)]).astype(np.int64)
    want = _per_unit_rule(x, targets, order, 0.5)
    w, b = np.zeros((7, 21), dtype), np.zeros(7, dtype)
    ws, bs = np.zeros(w.shape), np.zeros(7)
    errors, counts = np.full((5, 7), -1, np.int64), np.ones(7)
    old = numba.get_num_threads()
    numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
    try:
        cpu.perceptron_train_ovr(x, targets, w, b, ws, bs, order, 0.5, errors, counts)
    finally:
        numba.set_num_threads(old)
    for got, expected in zip((w, b, ws, bs, errors, counts), want):
        assert got.dtype == expected.dtype
        assert np.array_equal(got, expected)
    assert (errors[0] > 0).all()


def test_fixed_epochs_average_over_every_step():
    """stop_on_convergence=False: the same final weights; the average counts the steps of the
    epochs after convergence (where the weights no longer change), as a full run would."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 3))
    y = (x @ [1.0, -2.0, 0.5] > 0.1).astype(int)
    stop = ns.Perceptron(max_epochs=50, seed=1).fit(x, y)
    assert stop.converged_ and stop.n_epochs_ < 50
    full = ns.Perceptron(max_epochs=50, seed=1, stop_on_convergence=False).fit(x, y)
    assert np.array_equal(full.weights_, stop.weights_) and full.n_epochs_ == 50
    assert (full.errors_[stop.n_epochs_:] == 0).all()
    # the averaged perceptron over all 50 epochs, step by step, no early stop
    order = stop._orders(len(x))
    w, b = np.zeros(3), 0.0
    w_total, b_total = np.zeros(3), 0.0
    for epoch_order in order:
        for s in epoch_order:
            out = 1 if b + x[s] @ w > 0 else 0
            w, b = w + (y[s] - out) * x[s], b + (y[s] - out)
            w_total, b_total = w_total + w, b_total + b
    avg = ns.Perceptron(max_epochs=50, seed=1, average=True, stop_on_convergence=False).fit(x, y)
    np.testing.assert_allclose(avg.weights_[0], w_total / (50 * 60 + 1), rtol=1e-12)
    np.testing.assert_allclose(avg.bias_[0], b_total / (50 * 60 + 1), rtol=1e-12)


def test_float32_keeps_its_dtype_and_matches_float64_on_exact_data(digits):
    """Digits pixels are k/16: every sum is exact in both precisions, so the weights agree."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ns.NotConvergedWarning)
        p32 = ns.Perceptron(max_epochs=3, dtype="float32").fit(digits.x_train, digits.y_train)
        p64 = ns.Perceptron(max_epochs=3).fit(digits.x_train, digits.y_train)
    assert p32.weights_.dtype == np.float32 and p32.decision_function(digits.x_test).dtype == \
        np.float32
    assert np.array_equal(p32.weights_, p64.weights_.astype(np.float32))
    assert np.array_equal(p32.predict(digits.x_test), p64.predict(digits.x_test))
