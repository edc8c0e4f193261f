"""Neuron models: one module per family, each a parameter/state record plus functions that
call the backend kernels."""

from neurosim.neurons.lif import (
    IFParams,
    LIFCell,
    LIFParams,
    LIFPopulation,
    LIFRun,
    LIFState,
    lif_isi_theory,
    lif_run,
    lif_step,
)
from neurosim.neurons.mcculloch_pitts import (
    MPNetwork,
    MPUnit,
    and_gate,
    gate_truth_tables,
    nand_gate,
    not_gate,
    or_gate,
    sr_latch,
    xor_network,
)
from neurosim.neurons.mlp import TwoLayerPerceptron
from neurosim.neurons.perceptron import NotConvergedWarning, Perceptron

__all__ = [
    "IFParams", "LIFCell", "LIFParams", "LIFPopulation", "LIFRun", "LIFState", "lif_isi_theory",
    "lif_run", "lif_step", "MPNetwork", "MPUnit", "and_gate", "gate_truth_tables", "nand_gate",
    "not_gate",
    "or_gate", "sr_latch", "xor_network", "TwoLayerPerceptron", "NotConvergedWarning",
    "Perceptron",
]
