"""Spiking networks: populations, projections (dense and CSR sparse), inputs, monitors."""

from neurosim.network.memory import NetworkTooLargeError
from neurosim.network.monitors import RateMonitor, SpikeMonitor, StateMonitor
from neurosim.network.network import Network
from neurosim.network.plasticity import STDP
from neurosim.network.populations import (
    CurrentInput,
    PoissonGroup,
    PoissonInput,
    Population,
    SpikeSource,
    poisson_spikes,
)
from neurosim.network.projections import (
    Projection,
    connect_dense,
    connect_explicit,
    connect_fixed_indegree,
    connect_fixed_outdegree,
    connect_fixed_probability,
)

__all__ = [
    "CurrentInput", "Network", "NetworkTooLargeError", "PoissonGroup", "PoissonInput", "Population",
    "Projection", "RateMonitor", "STDP", "SpikeMonitor", "SpikeSource", "StateMonitor",
    "connect_dense", "connect_explicit", "connect_fixed_indegree", "connect_fixed_outdegree",
    "connect_fixed_probability", "poisson_spikes",
]
