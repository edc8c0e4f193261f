"""The zoo's residual network and its conversion."""

import numpy as np


def test_fashion_resnet_converts_exactly():
    """The zoo's ResNet (15 convolutions, BatchNorm, 6 residual additions): the converted
    network's ANN graph computes the PyTorch model's logits, and its spiking network agrees
    with it more often as T grows (random weights, BatchNorm statistics from a few batches)."""
    import torch

    from neurosim import zoo
    from neurosim.convert import convert

    torch.manual_seed(0)
    model = zoo.build("fashion_resnet")
    assert sum(isinstance(m, torch.nn.Conv2d) for m in model.modules()) == 15
    x = torch.rand(64, 1, 28, 28)
    model.train()
    with torch.no_grad():
        for _ in range(3):  # BatchNorm running statistics that are not the identity
            model(x)
    model.eval()
    snn = convert(model, x[:48])
    with torch.no_grad():
        np.testing.assert_allclose(snn.ann_logits(x[48:]).numpy(), model(x[48:]).numpy(),
                                   rtol=1e-4, atol=1e-4)
    assert sum(n.op == "add" for n in snn.graph.nodes) == 6
    result = snn.evaluate(x[48:], model(x[48:]).argmax(1).detach(), timesteps=[4, 64])
    assert result["agreement"][64] >= result["agreement"][4]
    assert result["agreement"][64] >= 0.75
