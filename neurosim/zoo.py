"""Architectures of the pretrained classifiers shipped in ``models/`` and their loader.

Each checkpoint ``models/<name>.pt`` holds a state dict; ``models/<name>.md`` is its card (data,
architecture, test accuracy, the command that made it: ``python models/train.py <name>``).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn as nn

MODELS = ("digits_mlp", "digits_cnn", "mnist_mlp", "mnist_cnn", "fashion_resnet")
DATASET = {"digits_mlp": "digits", "digits_cnn": "digits", "mnist_mlp": "mnist",
           "mnist_cnn": "mnist", "fashion_resnet": "fashion-mnist"}


class BasicBlock(nn.Module):
    """He et al. (2016)'s basic residual block: two 3x3 convolutions with BatchNorm, the input
    added back (through a strided 1x1 convolution with BatchNorm where the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """A CIFAR-style ResNet (He et al. 2016, section 4.2) for small images: a 3x3 stem
    (``stem_stride`` 2 halves 28x28 to 14x14, which keeps CPU training in minutes), three
    stages of ``blocks`` basic blocks at ``width``, 2x and 4x channels (the last two halve the
    resolution), global average pooling, a linear classifier. With ``blocks=2``: 15
    convolutions (13 on the main path, 2 on shortcuts), 6 residual additions."""

    def __init__(self, blocks: int = 2, width: int = 16, in_channels: int = 1,
                 classes: int = 10, stem_stride: int = 2):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, stem_stride, 1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU())
        layers, c_in = [], width
        for stage, c_out in enumerate((width, 2 * width, 4 * width)):
            for b in range(blocks):
                layers.append(BasicBlock(c_in, c_out, 2 if stage and b == 0 else 1))
                c_in = c_out
        self.stages = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(c_in, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.stages(self.stem(x))).flatten(1))


def models_dir() -> Path:
    return Path(os.environ.get("NEUROSIM_MODELS", Path(__file__).resolve().parents[1] / "models"))


def build(name: str) -> nn.Module:
    """A freshly initialised model of the named architecture."""
    if name == "digits_mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.2),
                             nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    if name == "digits_cnn":
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AvgPool2d(2),
            nn.Flatten(), nn.Dropout(0.2), nn.Linear(32 * 2 * 2, 64), nn.ReLU(),
            nn.Linear(64, 10))
    if name == "mnist_mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.BatchNorm1d(512), nn.ReLU(),
                             nn.Dropout(0.2), nn.Linear(512, 256), nn.ReLU(),
                             nn.Linear(256, 10))
    if name == "mnist_cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3),
            nn.Linear(128, 10))
    if name == "fashion_resnet":
        return ResNet(blocks=2, width=16)
    raise ValueError(f"unknown model {name!r}; available: {', '.join(MODELS)}")


def load_pretrained(name: str) -> nn.Module:
    """The shipped checkpoint of ``name`` in eval mode."""
    path = models_dir() / f"{name}.pt"
    if name in MODELS and not path.exists():
        raise FileNotFoundError(f"no checkpoint {path}; make it with: python models/train.py "
                                f"{name}")
    return load_checkpoint(name, path)


def load_checkpoint(name: str, path: str | Path) -> nn.Module:
    """The architecture ``name`` with the state dict in the file ``path``, in eval mode. A
    missing, unreadable or mismatching file is a ``FileNotFoundError`` or ``ValueError`` naming
    it."""
    model = build(name)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file {str(path)!r}")
    state = _torch_load(path, weights_only=True)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise ValueError(f"{path} does not hold the weights of {name}: {first}") from exc
    return model.eval()


def _torch_load(path: Path, *, weights_only: bool):
    """``torch.load`` whose failures (a corrupt or foreign file) are one-line ValueErrors."""
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - pickle, zip and torch errors alike
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"cannot read {path} as a PyTorch file: {first}") from exc


def load_model(spec: str, *, weights: str | None = None, args_json: str | None = None,
               trust_pickle: bool = False) -> nn.Module:
    """A classifier from the command line's ``--model`` forms:

    - a shipped model's name (``mnist_cnn``) or its checkpoint path (``models/mnist_cnn.pt``);
    - ``package.module:Class`` with ``weights`` (a state-dict file) and constructor arguments
      as JSON (``args_json``: a list, or an object of keyword arguments);
    - a ``torch.export`` program file (``.pt2``);
    - a whole pickled module (``torch.save(model)``), only with ``trust_pickle`` (unpickling
      runs code from the file).
    """
    import importlib
    import json

    path = Path(spec)
    if spec in MODELS and not path.exists():
        # a shipped architecture: its own weights, or the state dict given with --weights
        return load_pretrained(spec) if weights is None else load_checkpoint(spec, weights)
    if path.suffix == ".pt" and path.stem in MODELS and weights is None and not trust_pickle:
        # a checkpoint of a shipped architecture: the file given, never the shipped one
        return load_checkpoint(path.stem, path)
    if ":" in spec and not path.exists():
        module_name, _, class_name = spec.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"cannot import {spec!r}: {exc}") from exc
        if weights is None:
            raise ValueError(f"{spec!r} needs --weights (a state-dict file)")
        try:
            parsed = json.loads(args_json) if args_json else []
            model = cls(**parsed) if isinstance(parsed, dict) else cls(*parsed)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"cannot construct {spec} with arguments {args_json!r}: {exc}") \
                from exc
        if not isinstance(model, nn.Module):
            raise ValueError(f"{spec} did not build a torch.nn.Module")
        state = _torch_load(Path(weights), weights_only=True)
        try:
            model.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as exc:
            first = str(exc).strip().splitlines()[0]
            raise ValueError(f"{weights} does not hold the weights of {spec}: {first}") \
                from exc
        return model.eval()
    if not path.exists():
        raise FileNotFoundError(f"no model {spec!r}: give a shipped name ({', '.join(MODELS)}), "
                                "a module:Class with --weights, a .pt2 export or a pickled "
                                "module")
    if path.suffix == ".pt2":
        try:
            program = torch.export.load(str(path))
        except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ValueError(f"cannot read {path} as a torch.export program: {first}") from exc
        module = program.module()
        module.exported_program = program  # convert() translates the program itself
        return module
    if not trust_pickle:
        raise ValueError(f"{spec} is not a shipped checkpoint; if it is a whole pickled module "
                         "you trust, pass --trust-pickle")
    model = _torch_load(path, weights_only=False)
    if not isinstance(model, nn.Module):
        raise ValueError(f"{spec} does not hold a torch.nn.Module")
    return model.eval()
