import pytest

import neurosim as ns
from neurosim import backends


def test_cpu_backend_and_auto_without_gpu():
    from neurosim.kernels import cpu

    assert ns.get_backend("cpu") is cpu
    if not backends.cuda_status()[0]:
        assert ns.get_backend("auto") is cpu


def test_unknown_backend_is_a_value_error():
    with pytest.raises(ValueError, match="backend must be one of"):
        ns.get_backend("tpu")


def test_cuda_without_gpu_raises_a_clear_error():
    if backends.cuda_status()[0]:
        pytest.skip("a CUDA device (or the simulator) is usable here")
    with pytest.raises(ns.BackendUnavailableError, match="CUDA is not usable"):
        ns.get_backend("cuda")
    with pytest.raises(ns.BackendUnavailableError):
        ns.lif_run([[1.0]], ns.LIFParams(), 1e-4, backend="cuda")


def test_registry_is_one_table_and_auto_says_why(caplog):
    assert backends.backend_names() == ("cpu", "cuda", "auto")
    assert all(isinstance(backends.probe(name), backends.Probe) for name in backends.REGISTRY)
    backends._auto_choice.cache_clear()
    with caplog.at_level("INFO", logger="neurosim"):
        chosen = backends.resolve_backend_name("auto")
    assert f"backend 'auto' chose {chosen}" in caplog.text
    assert "not chosen: " in caplog.text  # the reason of every backend left out


def test_a_registered_backend_is_chosen_by_preference(monkeypatch):
    fake = backends.Backend("fake", "neurosim.kernels.cpu", 100,
                            lambda: backends.Probe(True, "a test double"))
    monkeypatch.setattr(backends, "REGISTRY", dict(backends.REGISTRY))
    backends.register(fake)
    try:
        assert backends.resolve_backend_name("auto") == "fake"
        from neurosim.kernels import cpu

        assert ns.get_backend("fake") is cpu
        with pytest.raises(ValueError, match="reserved or taken"):
            backends.register(fake)
    finally:
        backends._auto_choice.cache_clear()


def test_an_unusable_backend_names_its_reason(monkeypatch):
    broken = backends.Backend("broken", "neurosim.kernels.cpu", 50,
                              lambda: backends.Probe(False, "no such device"), hint="Use 'cpu'.")
    monkeypatch.setattr(backends, "REGISTRY", dict(backends.REGISTRY))
    backends.register(broken)
    try:
        assert backends.resolve_backend_name("auto") != "broken"
        with pytest.raises(ns.BackendUnavailableError, match="no such device. Use 'cpu'."):
            ns.get_backend("broken")
    finally:
        backends._auto_choice.cache_clear()
