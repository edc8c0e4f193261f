"""Programs built on the neurosim library: the demo, the transfer study, the Brian2 cross-checks
and the benchmarks against peer simulators. Each module here is a user of the library, as a
script or a notebook would be: it imports the library layers (neurons, network, convert,
interop, datasets, plot), and the library never imports this package. Only the command line
(:mod:`neurosim.cli`), the tests, the scripts in ``benchmarks/`` and the notebooks do.

- :mod:`neurosim.studies.demo`: the main job (``neurosim demo``, ``make demo``).
- :mod:`neurosim.studies.transfer`: the transfer study (``neurosim transfer``).
- :mod:`neurosim.studies.brian2_crosscheck`: the checks against Brian2
  (``neurosim validate brian2``).
- :mod:`neurosim.studies.peer_benchmarks`: neurosim timed beside Brian2 and snnTorch
  (``neurosim bench``, ``benchmarks/bench_cuba.py``, ``benchmarks/bench_convert.py``).
"""
