"""Perceptron training: neurosim vs scikit-learn, the same algorithm on both sides.

Two comparisons, each at 1 thread vs 1 thread and all cores vs all cores, in float32 and
float64 (scikit-learn's SGD has a float32 and a float64 version, ``_plain_sgd32/64``, and keeps
the input's precision: both sides run in the same one):

- **plain**: ``neurosim.Perceptron(average=False)`` vs ``sklearn.linear_model.Perceptron``;
- **averaged**: ``neurosim.Perceptron(average=True)`` vs
  ``SGDClassifier(loss="perceptron", average=True, learning_rate="constant", eta0=1, alpha=0,
  penalty=None)``.

Settings made the same on both sides: one-vs-rest (one binary unit per class, ``rule="ovr"``;
scikit-learn's multi-class SGD is one-vs-rest), learning rate 1 constant, an intercept (bias)
learned with the same step as the weights, the samples shuffled before every epoch, no
regularisation, no stopping rule (``tol=None``, ``early_stopping=False`` on scikit-learn's
side; ``stop_on_convergence=False`` on neurosim's: exactly the same fixed number of epochs),
update on a mistake ``w += y x, b += y`` with ``y`` in {-1, +1}, prediction by the largest
score. Thread counts: ``common.threads(n)`` on both sides and ``n_jobs=n`` for scikit-learn,
whose one-vs-rest fits run one class per joblib thread (neurosim gives each thread a group of
classes). Epochs are fixed in advance (10 on the digits, 4 on MNIST: a 1-thread scikit-learn
fit of MNIST takes ~1.2 s (plain) to ~1.7 s (averaged) per epoch on the reference machine, 48
such fits are timed, and the whole run must stay under ~6 minutes); no test accuracy chooses
anything. Both sides get the same C-contiguous
array of the benchmarked dtype; the timed call is ``fit`` (input checks included on both
sides). Timed call ``r`` uses seed ``r`` on both sides (the warm-up, seed 0, is untimed); the
two sides' timed calls alternate (``common.measure_interleaved``), so a drift in the machine's
speed slows both alike, and the digits, whose fits take milliseconds, get at least
``MIN_REPEATS`` of them per side. The table's accuracy is the mean test accuracy of the fits of
the check below (held-out test split: the digits' seeded stratified 20 %, MNIST's own 10,000
images).

Differences that remain, and what they change:

- The shuffling: scikit-learn draws one seed per class and shuffles with its own generator (each
  class sees its own order); neurosim draws one permutation per epoch from NumPy's PCG64 and
  all units share it. Same distribution of orders, different orders: the weights differ, the
  accuracies are compared (the mean over the timed fits, within the tolerance below).
- A score of exactly 0: neurosim's unit outputs ``[b + w.x > 0]`` (Rosenblatt's step), so a
  negative sample with score 0 is not a mistake; scikit-learn's perceptron loss counts
  ``y (b + w.x) <= 0`` as a mistake for both signs. It matters on ties only (every first
  sample, when all weights are 0).
- The averaging: neurosim averages ``w_0 = 0, w_1, ..., w_N`` (N + 1 terms), scikit-learn
  ``w_1, ..., w_N``: the two differ by the factor ``N / (N + 1)``, the same for every class,
  which changes no prediction.
- The implementation: neurosim reads every sample once per epoch for all the classes of a
  thread, and only its nonzero entries (81 % of MNIST's pixels are 0; a zero input changes
  neither a score nor a weight, so the result is the same); scikit-learn makes one pass over
  the dense data per class and epoch (it would skip zeros if given a ``scipy.sparse`` matrix,
  which image arrays are not). That is where the speed comes from; it is not a different
  algorithm.
- Scores: scikit-learn sums the float32 products in double; so does neurosim (in a fixed order
  of eight partial sums).

Checks recorded in the JSON: the mean test accuracies of both sides (on the digits over the
timed fits and ``ACCURACY_SEEDS`` untimed ones with the next seeds) within ``TOLERANCE`` (one
point for the averaged perceptron; two for the plain one, whose final weights move by several
points between seeds); each side's accuracy of every fit is kept, and the standard error
of the difference (from the seed-to-seed spread) is shown next to it: with 5 seeds a plain
perceptron's mean on the digits' 360 test images moves by about one point (an earlier run
with the timed fits only failed the check at -2.3 +- 0.8 points; 40 seeds per side give
-0.3 +- 0.4).

    python benchmarks/bench_perceptron.py            # full run (~4.5 min on 2 idle cores)
    python benchmarks/bench_perceptron.py --quick    # digits, and 5,000 MNIST images
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

EPOCHS = {"digits": 10, "mnist": 4}
#: Untimed fits per side (seeds after the timed ones) added to the accuracy check: a plain
#: perceptron's test accuracy on the digits moves by ~2 points between seeds, so 5 fits
#: cannot tell a 2-point difference from chance (MNIST: the timed fits only, each ~1 s).
ACCURACY_SEEDS = {"digits": 40, "mnist": 0}
#: Timed fits per side at least (a digits fit takes 3-10 ms: 5 medians of so short calls move
#: with every hiccup of the machine).
MIN_REPEATS = {"digits": 21}
TOLERANCE = {"plain": 0.02, "averaged": 0.01}
ALGORITHMS = ("plain", "averaged")
PEER = {"plain": "sklearn Perceptron",
        "averaged": "sklearn SGDClassifier(loss='perceptron', average=True)"}


def sklearn_model(algorithm: str, epochs: int, n_jobs: int, seed: int):
    from sklearn.linear_model import Perceptron, SGDClassifier

    common_options = dict(max_iter=epochs, tol=None, shuffle=True, eta0=1.0, penalty=None,
                          fit_intercept=True, early_stopping=False, n_jobs=n_jobs,
                          random_state=seed)
    if algorithm == "plain":
        return Perceptron(**common_options)
    return SGDClassifier(loss="perceptron", learning_rate="constant", alpha=0.0, average=True,
                         **common_options)


def neurosim_model(algorithm: str, epochs: int, dtype: str, seed: int):
    import neurosim as ns

    return ns.Perceptron(lr=1.0, max_epochs=epochs, rule="ovr", average=algorithm == "averaged",
                         shuffle=True, seed=seed, dtype=dtype, stop_on_convergence=False)


def load_problem(name: str, quick: bool) -> dict[str, Any]:
    from neurosim.datasets import load

    data = load(name)
    x_tr, y_tr, x_te, y_te = data.x_train, data.y_train, data.x_test, data.y_test
    if quick and name == "mnist":
        x_tr, y_tr, x_te, y_te = x_tr[:5000], y_tr[:5000], x_te[:1000], y_te[:1000]
    return {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te,
            "shape": list(x_tr.shape), "test_samples": len(x_te),
            "zero_fraction": float(np.mean(x_tr == 0))}


def _timed_fits(makers: dict[str, Any], x, y, repeats: int) -> tuple[dict, dict]:
    """``common.measure_interleaved`` of ``make(seed).fit(x, y)`` for every side, call ``k``
    with seed ``k``; returns the timings and the timed fits of every side."""
    fitted: dict[str, list] = {name: [] for name in makers}

    def caller(name):
        def fit(seed):
            fitted[name].append(makers[name](seed).fit(x, y))
        return fit

    times = common.measure_interleaved({name: caller(name) for name in makers}, repeats)
    return times, {name: fits[1:] for name, fits in fitted.items()}  # not the warm-up's


def compare(problem: dict[str, Any], name: str, algorithm: str, dtype: str, n: int,
            repeats: int) -> dict[str, Any]:
    epochs = EPOCHS[name]
    x = np.ascontiguousarray(problem["x_train"], dtype=dtype)
    x_test = np.ascontiguousarray(problem["x_test"], dtype=dtype)
    y, y_test = problem["y_train"], problem["y_test"]
    with common.threads(n) as used, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        times, fits = _timed_fits(
            {"neurosim": lambda s: neurosim_model(algorithm, epochs, dtype, s),
             "sklearn": lambda s: sklearn_model(algorithm, epochs, used, s)}, x, y, repeats)
        (ours, theirs), (ours_fits, their_fits) = ((times["neurosim"], times["sklearn"]),
                                                   (fits["neurosim"], fits["sklearn"]))
        extra = range(repeats + 1, repeats + 1 + ACCURACY_SEEDS.get(name, 0))
        ours_fits += [neurosim_model(algorithm, epochs, dtype, s).fit(x, y) for s in extra]
        their_fits += [sklearn_model(algorithm, epochs, used, s).fit(x, y) for s in extra]
    acc_ours = [float(m.score(x_test, y_test)) for m in ours_fits]
    acc_theirs = [float(m.score(x_test, y_test)) for m in their_fits]
    dtypes = {"neurosim": str(ours_fits[-1].weights_.dtype),
              "sklearn": str(their_fits[-1].coef_.dtype)}
    gap = statistics.mean(acc_ours) - statistics.mean(acc_theirs)
    # the seed-to-seed spread of each side's accuracy, as the standard error of the difference
    se = (sum(statistics.variance(a) / len(a) for a in (acc_ours, acc_theirs)) ** 0.5
          if len(acc_ours) > 1 else None)
    check = {"what": f"mean test accuracy of {len(acc_ours)} fits per side (the timed ones and "
                     "untimed ones with the next seeds), neurosim - scikit-learn",
             "difference": gap, "standard_error": se, "tolerance": TOLERANCE[algorithm],
             "passed": abs(gap) <= TOLERANCE[algorithm],
             "weights_dtype": dtypes, "same_dtype": dtypes["neurosim"] == dtypes["sklearn"]}
    row = {"problem": name, "algorithm": algorithm, "peer": PEER[algorithm], "dtype": dtype,
           "threads": used, "epochs": epochs, "neurosim": ours, "sklearn": theirs,
           "ratio": theirs["median_s"] / ours["median_s"],
           "accuracy": {"neurosim": acc_ours, "sklearn": acc_theirs,
                        "neurosim_mean": statistics.mean(acc_ours),
                        "sklearn_mean": statistics.mean(acc_theirs)},
           "check": check}
    print(f"{name:6} {algorithm:8} {dtype:7} {used} thr: neurosim "
          f"{ours['median_s'] * 1e3:8.1f} ms, sklearn {theirs['median_s'] * 1e3:8.1f} ms, "
          f"{row['ratio']:5.2f}x; accuracy {row['accuracy']['neurosim_mean']:.4f} vs "
          f"{row['accuracy']['sklearn_mean']:.4f} ({'ok' if check['passed'] else 'FAILED'})",
          flush=True)
    return row


def run(args) -> dict[str, Any]:
    dtypes = common.parse_dtypes(args.dtype)
    counts = common.thread_counts(args.threads)
    problems = [p.strip() for p in args.problems.split(",") if p.strip()]
    rows, info = [], {}
    for name in problems:
        problem = load_problem(name, args.quick)
        info[name] = {k: problem[k] for k in ("shape", "test_samples", "zero_fraction")}
        info[name]["epochs"] = EPOCHS[name]
        for algorithm in ALGORITHMS:
            for dtype in dtypes:
                for n in counts:
                    repeats = (args.repeats if args.quick
                               else max(args.repeats, MIN_REPEATS.get(name, 0)))
                    rows.append(compare(problem, name, algorithm, dtype, n, repeats))
    return {"benchmark": "perceptron", "quick": args.quick, "problems": info, "rows": rows,
            "all_checks_passed": all(r["check"]["passed"] for r in rows)}


def render(result: dict[str, Any]) -> str:
    """The README table: medians (min-max) in ms, the ratio, the accuracies and the check."""
    lines = ["| problem | algorithm (peer) | dtype | threads | neurosim ms | scikit-learn ms "
             "| speed-up | test accuracy neurosim / scikit-learn | check |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        shape = result["problems"][r["problem"]]["shape"]
        acc = r["accuracy"]
        check = r["check"]
        se = (f" +- {check['standard_error']:.3f}" if check.get("standard_error") is not None
              else "")
        lines.append(
            f"| {r['problem']} ({shape[0]:,} x {shape[1]}, {r['epochs']} epochs) "
            f"| {r['algorithm']} ({r['peer']}) | {r['dtype']} | {r['threads']} "
            f"| {common.spread(r['neurosim'], 1e3)} | {common.spread(r['sklearn'], 1e3)} "
            f"| {r['ratio']:.1f}x | {acc['neurosim_mean']:.3f} / {acc['sklearn_mean']:.3f} "
            f"(diff {check['difference']:+.3f}{se}) "
            f"| {'ok' if check['passed'] else 'FAILED'} (\\|diff\\| <= {check['tolerance']:g}) |")
    env = result.get("environment", {})
    fits = {r["problem"]: len(r["accuracy"]["neurosim"]) for r in result["rows"]}
    timed = {r["problem"]: r["neurosim"].get("repeats", "?") for r in result["rows"]}
    interleaved = all(r["neurosim"].get("interleaved") for r in result["rows"])
    lines.append("")
    lines.append("Median (min-max) of " + ", ".join(f"{k} ({name})" for name, k in timed.items())
                 + " timed fits after one untimed warm-up on each side"
                 + (", the two sides' fits alternating" if interleaved else "")
                 + ", fit call only, same dtype and thread "
                 "count on both sides (scikit-learn n_jobs = threads); accuracy: mean on the "
                 "held-out test split over fits with seeds 1..k on each side, the timed ones "
                 "and untimed ones with the next seeds (" + ", ".join(
                     f"{name} k = {k}" for name, k in fits.items()) + f"). {env.get('cpu', '')}, "
                 f"{env.get('cores', '?')} cores.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_options(parser, default_out="perceptron.json")
    parser.add_argument("--problems", default="digits,mnist",
                        help="comma-separated: digits, mnist (default both)")
    args = parser.parse_args(argv)
    if args.repeats < 5 and not args.quick:
        parser.error("--repeats must be at least 5 (benchmarks/README.md, rule 2)")
    result = run(args)
    path = common.write_result(args.out, result, repeats=args.repeats, threads=args.threads,
                               dtype=args.dtype, problems=args.problems, quick=args.quick,
                               epochs=EPOCHS)
    print(render(json.loads(path.read_text())))
    if not result["all_checks_passed"]:
        print("an accuracy check FAILED (see the table)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
