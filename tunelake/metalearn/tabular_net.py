"""The zoo's PyTorch family: an MLP or a ResNet for tables, as a scikit-learn estimator.

The architecture is searched like any hyperparameter (``arch``, ``layers``,
``width``, ``dropout``, ``embed_dim``), so the meta-model proposes it as it
proposes a forest's depth. Categorical columns arrive as ordinal codes and
get one learnt embedding each (the one-hot the other families use would
make a wide table wider). Training stops early on a held-out tenth of the
rows and keeps the best epoch's weights. On a node with a GPU the network
trains there; the fitted estimator always lives on the CPU, so a model
pickled on a GPU node loads anywhere.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from torch import nn

PATIENCE = 8  # epochs without a better validation loss before training stops
MAX_EMBED = 64


class _Block(nn.Module):
    """x + f(x): the residual block of the tabular ResNet (Gorishniy et al., 2021)."""

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.f = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.ReLU(), nn.Dropout(dropout),
                               nn.Linear(width, width), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.f(x)


class _Net(nn.Module):
    def __init__(self, n_numeric: int, cardinalities: list[int], out: int, arch: str, layers: int, width: int,
                 dropout: float, embed_dim: int) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(c, min(embed_dim, (c + 1) // 2, MAX_EMBED))
                                        for c in cardinalities)
        width_in = n_numeric + sum(e.embedding_dim for e in self.embeddings)
        if arch == "resnet":
            body: list[nn.Module] = [nn.Linear(width_in, width), *(_Block(width, dropout) for _ in range(layers)),
                                     nn.LayerNorm(width), nn.ReLU()]
        else:
            body = []
            for i in range(layers):
                body += [nn.Linear(width_in if i == 0 else width, width), nn.ReLU(), nn.Dropout(dropout)]
        self.body = nn.Sequential(*body)
        self.head = nn.Linear(width, out)

    def forward(self, numeric: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        parts = [numeric, *(e(codes[:, i]) for i, e in enumerate(self.embeddings))]
        return self.head(self.body(torch.cat(parts, dim=1)))


class _TabularNet(BaseEstimator):
    """``n_numeric`` leading columns are numbers (already imputed and scaled); the rest are ordinal codes,
    -1 for a level not seen in training. Subclasses say the ``task``."""

    task: str

    def __init__(self, n_numeric: int = 0, arch: str = "mlp", layers: int = 2,
                 width: int = 128, dropout: float = 0.1, embed_dim: int = 8, learning_rate: float = 1e-3,
                 weight_decay: float = 1e-5, epochs: int = 50, batch_size: int = 128, seed: int = 0) -> None:
        self.n_numeric = n_numeric
        self.arch = arch
        self.layers = layers
        self.width = width
        self.dropout = dropout
        self.embed_dim = embed_dim
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed

    def _tensors(self, x: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = np.asarray(x, dtype=np.float64)
        numeric = torch.as_tensor(x[:, :self.n_numeric], dtype=torch.float32)
        codes = np.nan_to_num(x[:, self.n_numeric:], nan=-1.0).astype(np.int64) + 1  # 0: unseen or missing
        codes = np.minimum(codes, np.asarray(self.cardinalities_, dtype=np.int64) - 1) if codes.shape[1] else codes
        return numeric, torch.as_tensor(codes)

    def fit(self, x: np.ndarray, y: np.ndarray) -> _TabularNet:
        torch.manual_seed(self.seed)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # one core per trial, as every other family
        try:
            self._fit(np.asarray(x), np.asarray(y))
        finally:
            torch.set_num_threads(threads)
        return self

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        codes = np.nan_to_num(np.asarray(x[:, self.n_numeric:], dtype=np.float64), nan=-1.0)
        self.cardinalities_ = [int(c.max()) + 2 if len(c) else 2 for c in codes.T]
        if self.task == "classification":
            self.classes_, target = np.unique(y, return_inverse=True)
            out, loss_fn, target = len(self.classes_), torch.nn.CrossEntropyLoss(), torch.as_tensor(target)
        else:
            y = y.astype(np.float64)
            self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std()) or 1.0
            out, loss_fn = 1, torch.nn.MSELoss()
            target = torch.as_tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32).reshape(-1, 1)
        numeric, codes_t = self._tensors(x)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        net = _Net(self.n_numeric, self.cardinalities_, out, self.arch, int(self.layers), int(self.width),
                   float(self.dropout), int(self.embed_dim)).to(device)
        order = np.random.default_rng(self.seed).permutation(len(y))
        held = order[:max(1, len(y) // 10)] if len(y) >= 20 else order[:0]
        train = order[len(held):]
        rows = torch.as_tensor(held)  # the held-out tenth, moved to the device once
        held_in, held_target = (numeric[rows].to(device), codes_t[rows].to(device)), target[rows].to(device)
        optimizer = torch.optim.AdamW(net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        batch = max(1, min(int(self.batch_size), len(train)))
        best, best_state, waited = np.inf, None, 0
        for _ in range(int(self.epochs)):
            net.train()
            for start in range(0, len(train), batch):
                rows = torch.as_tensor(train[start:start + batch])
                if len(rows) < 2 and len(train) >= 2:
                    continue  # LayerNorm is fine with one row; a lone last row just adds noise
                optimizer.zero_grad()
                loss = loss_fn(net(numeric[rows].to(device), codes_t[rows].to(device)), target[rows].to(device))
                loss.backward()
                optimizer.step()
            if not len(held):
                continue
            net.eval()
            with torch.no_grad():
                value = float(loss_fn(net(*held_in), held_target))
            if value < best - 1e-6:
                best, best_state, waited = value, {k: v.detach().clone() for k, v in net.state_dict().items()}, 0
            else:
                waited += 1
                if waited >= PATIENCE:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.net_ = net.to("cpu").eval()

    def _forward(self, x: np.ndarray) -> np.ndarray:
        numeric, codes = self._tensors(x)
        with torch.no_grad():
            return self.net_(numeric, codes).numpy()


class TabularNetClassifier(ClassifierMixin, _TabularNet):
    task = "classification"

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        logits = self._forward(x)
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(x).argmax(axis=1)]


class TabularNetRegressor(RegressorMixin, _TabularNet):
    task = "regression"

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self._forward(x)[:, 0] * self.y_scale_ + self.y_mean_
