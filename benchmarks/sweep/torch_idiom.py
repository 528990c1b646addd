"""The d2l.ai weight-decay chapter's from-scratch PyTorch code, looped over a grid of lambd.

Runs under a PyTorch environment (PyTorch is never a bayes_reg dependency), e.g.::

    /work/venv-torch/bin/python benchmarks/sweep/torch_idiom.py --data data.npz

Written the way the chapter writes it (d2l.ai, "Weight Decay", implementation from scratch):
``requires_grad`` tensors, ``train_iter = d2l.load_array(...)`` (a shuffled ``DataLoader``
over a ``TensorDataset``), ``squared_loss + lambd * l2_penalty(w)``, ``l.sum().backward()``
and the chapter's ``sgd`` (``param -= lr * param.grad / batch_size``, ``grad.zero_()``), one
Python loop over epochs and minibatches per strength. As in the chapter, train and test
losses are evaluated every 5 epochs with ``evaluate_loss`` (its animator's plotting is left
out). ``--iterator randperm`` swaps the DataLoader for the hand-written ``data_iter`` of the
linear-regression chapter and ``--eval-every 0`` drops the evaluation: the fastest form of
the idiom. The torch seed is reset for every strength, so all strengths share the initial
weights and the minibatch order (as ``bayes_reg.sgd_path`` does). Float32 (torch's default);
torch's default thread count.

Prints one JSON object to stdout: timings, versions and the per-strength final ||w||,
train loss and test loss (mean r**2/2 on the full sets), and ||w_0|| of the shared init.
"""

import argparse
import json
import platform
import time

import numpy as np
import torch


def data_iter(batch_size, features, labels):
    """d2l's minibatch iterator: a fresh random permutation, cut into batches."""
    num_examples = len(features)
    indices = torch.randperm(num_examples)
    for i in range(0, num_examples, batch_size):
        batch_indices = indices[i : min(i + batch_size, num_examples)]
        yield features[batch_indices], labels[batch_indices]


def linreg(X, w, b):
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def l2_penalty(w):
    return torch.sum(w.pow(2)) / 2


def load_array(data_arrays, batch_size, is_train=True):
    """d2l's ``load_array``: a PyTorch data iterator."""
    dataset = torch.utils.data.TensorDataset(*data_arrays)
    return torch.utils.data.DataLoader(dataset, batch_size, shuffle=is_train)


def evaluate_loss(net, data_iter, loss):
    """d2l's ``evaluate_loss``: the mean loss over a data iterator."""
    total, count = 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            out = loss(net(X), y)
            total, count = total + out.sum().item(), count + out.numel()
    return total / count


def init_params(num_inputs):
    w = torch.normal(0, 1, size=(num_inputs, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    return [w, b]


def train(lambd, data, *, num_epochs, lr, batch_size, seed, eval_every, iterator):
    """One strength, as in the chapter's ``train(lambd)``: final ||w||, losses, ||w_0||."""
    torch.manual_seed(seed)
    X_train, y_train, X_test, y_test = data
    w, b = init_params(X_train.shape[1])
    w0_norm = torch.norm(w).item()  # not part of the chapter: for the init-normalised check
    net, loss = (lambda X: linreg(X, w, b)), squared_loss
    if iterator == "dataloader":  # the chapter's train_iter / test_iter, re-iterated per epoch
        loaders = (
            load_array((X_train, y_train), batch_size),
            load_array((X_test, y_test), batch_size, is_train=False),
        )

        def train_iter():
            return loaders[0]

        def test_iter():
            return loaders[1]
    else:

        def train_iter():
            return data_iter(batch_size, X_train, y_train)

        def test_iter():
            return data_iter(batch_size, X_test, y_test)

    curve = []
    for epoch in range(num_epochs):
        for X, y in train_iter():
            # The L2 norm penalty term has been added, and broadcasting makes
            # l2_penalty(w) a vector whose length is batch_size
            l = loss(net(X), y) + lambd * l2_penalty(w)  # noqa: E741 (the chapter's name)
            l.sum().backward()
            sgd([w, b], lr, batch_size)
        if eval_every and (epoch + 1) % eval_every == 0:
            curve.append(
                (
                    evaluate_loss(net, train_iter(), loss),
                    evaluate_loss(net, test_iter(), loss),
                )
            )
    with torch.no_grad():
        train_loss = loss(net(X_train), y_train).mean().item()
        test_loss = loss(net(X_test), y_test).mean().item()
        w_norm = torch.norm(w).item()
    return w_norm, train_loss, test_loss, w0_norm


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help=".npz with X_train, y_train, X_test, ...")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--batch-size", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=5, help="0: no loss curve")
    parser.add_argument("--iterator", choices=("dataloader", "randperm"), default="dataloader")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    with np.load(args.data) as f:
        keys = ("X_train", "y_train", "X_test", "y_test")
        data = tuple(torch.tensor(f[k], dtype=torch.float32) for k in keys)
        strengths = f["strengths"].tolist()
    rows = [
        train(
            lambd,
            data,
            num_epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            seed=args.seed,
            eval_every=args.eval_every,
            iterator=args.iterator,
        )
        for lambd in strengths
    ]
    elapsed = time.perf_counter() - t0

    w_norm, train_loss, test_loss, w0_norm = (list(col) for col in zip(*rows, strict=True))
    print(
        json.dumps(
            {
                "framework": "torch",
                "torch_version": torch.__version__,
                "python_version": platform.python_version(),
                "num_threads": torch.get_num_threads(),
                "dtype": "float32",
                "seconds_end_to_end": elapsed,
                "strengths": strengths,
                "w0_norm": w0_norm[0],  # the same init at every strength
                "w_norm": w_norm,
                "train_loss": train_loss,
                "test_loss": test_loss,
            }
        )
    )


if __name__ == "__main__":
    main()
