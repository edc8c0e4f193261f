"""Conversion of models whose first op is an embedding lookup with a mean (token ids in): the
lookup-and-mean is the input encoding, the rest runs as IF neurons (neurosim.convert.coding)."""

import numpy as np
import pytest
import torch
from torch import nn

from neurosim.convert import ConversionError, convert
from neurosim.convert.coding import encode

VOCAB, DIM, LENGTH = 60, 16, 9


class Bag(nn.Module):
    """The textbook model: EmbeddingBag(mode="mean") -> Linear -> ReLU -> Linear."""

    def __init__(self, mode="mean", padding_idx=0, hidden=32):
        super().__init__()
        self.bag = nn.EmbeddingBag(VOCAB, DIM, mode=mode, padding_idx=padding_idx)
        self.fc = nn.Linear(DIM, hidden)
        self.out = nn.Linear(hidden, 2)

    def forward(self, x):
        return self.out(torch.relu(self.fc(self.bag(x))))


class EmbedMean(nn.Module):
    """nn.Embedding followed by a mean over the tokens."""

    def __init__(self, dim=1):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, DIM, padding_idx=0)
        self.fc = nn.Linear(LENGTH if dim == 2 else DIM, 2)
        self.dim = dim

    def forward(self, x):
        return self.fc(self.emb(x).mean(dim=self.dim))


def tokens(n, seed=0):
    """Padded token ids and labels: class 1 draws mostly from ids 2-30, class 0 from 31-59."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    ids = np.zeros((n, LENGTH), np.int64)
    for k in range(n):
        length = rng.integers(3, LENGTH + 1)
        own = rng.integers(2, 31, length) if y[k] else rng.integers(31, VOCAB, length)
        ids[k, :length] = np.where(rng.random(length) < 0.7, own, rng.integers(2, VOCAB, length))
    return torch.from_numpy(ids), torch.from_numpy(y)


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    model = Bag()
    x, y = tokens(600)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()


@pytest.mark.parametrize("build", [lambda: Bag(), lambda: Bag(padding_idx=None),
                                   lambda: EmbedMean()], ids=["bag", "bag-nopad", "embed-mean"])
def test_ann_of_the_converted_network_is_the_pytorch_model_exactly(build):
    torch.manual_seed(1)
    model = build().eval()
    x, y = tokens(200, seed=1)
    snn = convert(model, x[:100])
    assert snn.graph.embedding is not None and snn.graph.nodes[0].op == "input"
    with torch.no_grad():
        want = model(x)
    assert torch.equal(snn.ann_logits(x), want)
    result = snn.evaluate(x, y, timesteps=[4])
    assert result["ann_accuracy"] == float(np.mean((want.argmax(1) == y).numpy()))


def test_snn_approaches_the_ann_at_large_t(trained):
    x, y = tokens(400, seed=2)
    snn = convert(trained, tokens(300, seed=3)[0])
    result = snn.evaluate(x, y, timesteps=[4, 16, 256])
    assert result["ann_accuracy"] > 0.9  # the model learned the task
    assert result["agreement"][256] >= 0.98
    assert abs(result["snn_accuracy"][256] - result["ann_accuracy"]) <= 0.02
    assert result["agreement"][256] >= result["agreement"][4] - 0.01
    assert result["synops_per_sample"] > 0


def test_poisson_encoding_carries_the_sign_of_embeddings(trained):
    x = torch.tensor([[-0.5, 0.25, 0.0, 1.0]])
    spikes = encode(x, 4000, "poisson", 1.0, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(spikes.mean(0).numpy(), x[0].numpy(), atol=0.03)
    assert set(np.unique(spikes.numpy())) <= {-1.0, 0.0, 1.0}
    data, labels = tokens(300, seed=4)
    snn = convert(trained, data, encoding="poisson")
    assert snn.evaluate(data, labels, timesteps=[256])["agreement"][256] >= 0.9


def test_token_ids_of_any_integer_type_and_length(trained):
    x, _ = tokens(50, seed=5)
    snn = convert(trained, x.numpy().astype(np.int32))
    want = snn.predict(x, timesteps=16)
    longer = torch.cat([x, torch.zeros(50, 7, dtype=torch.int64)], dim=1)  # more padding
    np.testing.assert_array_equal(snn.predict(longer, timesteps=16), want)
    np.testing.assert_array_equal(snn.predict(x.to(torch.float32), timesteps=16), want)
    membrane = snn.simulate(x[:5], 8)["membrane"]
    np.testing.assert_allclose(snn.simulate_stepwise(x[:5], 8), membrane, rtol=1e-5,
                               atol=1e-5)
    tuned, losses = snn.finetune(x, torch.zeros(50, dtype=torch.int64), timesteps=2, epochs=1)
    assert len(losses) == 1 and tuned.graph.embedding is not None


@pytest.mark.parametrize("bad, match", [
    (lambda x: x.to(torch.float32) + 0.5, "whole numbers"),
    (lambda x: x + VOCAB, "ids 0 to 59"),
    (lambda x: -x, "negative|from -"),
    (lambda x: x[:, 0], "shape \\(N, L\\)"),
    (lambda x: x[:, :0], "L >= 1"),
])
def test_bad_token_ids_are_refused(trained, bad, match):
    x, y = tokens(20, seed=6)
    x[:, 0] = 5  # every row has a token, so -x is negative somewhere
    snn = convert(trained, x)
    with pytest.raises(ValueError, match=match):
        snn.evaluate(bad(x), y, timesteps=4)
    with pytest.raises(ValueError, match=match):
        convert(trained, bad(x))


class TwoBags(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.EmbeddingBag(VOCAB, DIM, mode="mean"), nn.EmbeddingBag(VOCAB, DIM)
        self.fc = nn.Linear(DIM, 2)

    def forward(self, x):
        return self.fc(self.a(x)) + self.fc(self.b(x))


class Flattened(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, DIM)
        self.fc = nn.Linear(DIM * LENGTH, 2)

    def forward(self, x):
        return self.fc(self.emb(x).flatten(1))


class Offsets(nn.Module):
    def __init__(self):
        super().__init__()
        self.bag = nn.EmbeddingBag(VOCAB, DIM, mode="mean")
        self.register_buffer("offsets", torch.tensor([0, 3]))
        self.fc = nn.Linear(DIM, 2)

    def forward(self, x):
        return self.fc(self.bag(x.flatten(), self.offsets))


@pytest.mark.parametrize("model, match", [
    (Bag(mode="sum"), "mode='sum'.*not supported.*EmbeddingBag\\(mode='mean'\\)"),
    (Bag(mode="max"), "mode='max'"),
    (TwoBags(), "not the model's first op"),
    (Flattened(), "followed by a mean"),
    (EmbedMean(dim=2), "mean over dims"),
    (Offsets(), "2-D tensor of token ids"),
])
def test_unsupported_embeddings_name_what_is_supported(model, match):
    x = tokens(2)[0] if not isinstance(model, Offsets) else torch.tensor([[2, 3, 4, 5, 6, 7]])
    with pytest.raises(ConversionError, match=match):
        convert(model.eval(), x)


def test_embedding_networks_elsewhere_in_the_library(trained):
    """Bias correction takes token ids; NIR and snnTorch export say why they cannot."""
    from neurosim.convert.bias_correction import correct_biases
    from neurosim.convert.nir_export import NirExportError
    from neurosim.interop.snntorch import to_snntorch

    x, y = tokens(200, seed=5)
    snn = convert(trained, x, reset="value", v_init=0.0)
    corrected, report = correct_biases(snn, x, timesteps=8)
    assert [r["layer"] for r in report] == snn.neuron_layers
    assert corrected.evaluate(x, y, timesteps=[8])["snn_accuracy"][8] > 0.8
    with pytest.raises(NirExportError, match="no embedding lookup"):
        snn.to_nir()
    with pytest.raises(ValueError, match="embedding lookup on token ids"):
        to_snntorch(convert(trained, x))
