"""Accuracy predictors: MoSegNAS's RankNet (seed 004, Algorithm 3) and scikit-learn's regressors.

Every predictor maps encoded genotypes (:mod:`mednas.search.encoding`) to a score whose order
is the predicted order of the target (higher = better); the targets given to ``fit`` are
min-max normalised to [0, 1] first, as the paper does for Eq. 5. The scikit-learn models are the
paper's comparison set (Table V: RBF, Kriging, SVR, DT, GB) and RankNet's teachers; E2EPP (a
random forest of genetic programs, not in any maintained library) is left out.

RankNet is written here because no library has it: an MLP whose outputs pass a sigmoid, trained
by a pairwise hinge ranking loss plus L2 (Eq. 6) with a cosine learning rate, on the genuine
samples enlarged in every epoch by a few random genotypes labelled by the teachers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

from mednas.errors import ConfigError


def _minmax(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    lo, hi = float(np.min(y)), float(np.max(y))
    return ((y - lo) / (hi - lo) if hi > lo else np.zeros_like(y, dtype=float)), lo, hi


def sklearn_model(name: str, seed: int = 0) -> Any:
    """A fresh scikit-learn regressor of Table V's comparison set."""
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.svm import SVR
    from sklearn.tree import DecisionTreeRegressor

    if name == "rbf":  # RBF-kernel regression: the radial-basis-function surrogate of the EA literature
        return KernelRidge(kernel="rbf", alpha=1e-2)
    if name == "kriging":
        return GaussianProcessRegressor(ConstantKernel() * RBF() + WhiteKernel(), normalize_y=True,
                                        random_state=seed)
    if name == "svr":
        return SVR(kernel="rbf", C=1.0, epsilon=0.01)
    if name == "dt":
        return DecisionTreeRegressor(random_state=seed)
    if name == "gb":
        return GradientBoostingRegressor(random_state=seed)
    raise ConfigError(f"unknown accuracy predictor '{name}'; choose from {list(PREDICTORS)}")


class SklearnPredictor:
    """A scikit-learn regressor on min-max normalised targets."""

    def __init__(self, name: str, seed: int = 0):
        self.name, self.seed = name, seed
        self.model = sklearn_model(name, seed)

    def fit(self, X: np.ndarray, y: np.ndarray, X_pool: np.ndarray | None = None) -> SklearnPredictor:
        self.model.fit(X, _minmax(np.asarray(y, float))[0])
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(X), dtype=float)


def ranking_loss(pred: torch.Tensor, target: torch.Tensor, margin: float) -> torch.Tensor:
    """Pairwise hinge ranking loss: mean over ordered pairs (i, j) with y_i != y_j of
    max(0, margin - sign(y_i - y_j) (p_i - p_j)).

    The paper's Eq. 5 prints max(0, gamma - sign(p_i - p_j) (y_i - y_j)): read literally the sign
    of the predictions is the only place they enter, which has no gradient, so the roles are
    swapped here as in the margin ranking loss the equation describes (a pair costs nothing once
    its predictions are ordered as its targets, ``margin`` apart).
    """
    dp = pred[:, None] - pred[None, :]
    dy = target[:, None] - target[None, :]
    mask = dy != 0
    if not bool(mask.any()):
        return pred.sum() * 0.0
    return torch.clamp(margin - torch.sign(dy[mask]) * dp[mask], min=0.0).mean()


@dataclass(frozen=True)
class RankNetSettings:
    """RankNet's settings. The paper's Table I lost its labels; these read its surviving numbers
    as 3 hidden layers of 300 units, 300 epochs, 20 synthetic samples per epoch, learning rate
    8e-4 and margin 0.05; the L2 weight is Eq. 6's 2.5e-4. Adam replaces the paper's plain SGD
    step (Algorithm 3), with the same cosine schedule."""

    hidden: int = 300
    layers: int = 3
    epochs: int = 300
    lr: float = 8e-4
    weight_decay: float = 2.5e-4
    margin: float = 0.05
    synthetic: int = 20
    teachers: tuple[str, ...] = ("rbf", "dt", "gb")

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> RankNetSettings:
        cfg = dict(cfg or {})
        unknown = sorted(set(cfg) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"search.surrogate.ranknet: unknown setting(s) {unknown}")
        if "teachers" in cfg:
            cfg["teachers"] = tuple(cfg["teachers"])
            bad = [t for t in cfg["teachers"] if t not in SKLEARN]
            if bad:
                raise ConfigError(f"search.surrogate.ranknet.teachers: unknown {bad}; choose from {list(SKLEARN)}")
        s = cls(**cfg)
        if s.hidden < 1 or s.layers < 1 or s.epochs < 1 or s.lr <= 0 or s.synthetic < 0:
            raise ConfigError(f"search.surrogate.ranknet: hidden, layers, epochs >= 1, lr > 0, synthetic >= 0; got {s}")
        if s.synthetic and not s.teachers:
            raise ConfigError("search.surrogate.ranknet: synthetic samples need at least one teacher")
        return s


class RankNet:
    """MoSegNAS's accuracy predictor (Algorithm 3)."""

    name = "ranknet"

    def __init__(self, settings: RankNetSettings | None = None, seed: int = 0):
        self.s, self.seed = settings or RankNetSettings(), seed
        self.net: torch.nn.Module | None = None

    def _build(self, width: int) -> torch.nn.Module:
        layers: list[torch.nn.Module] = []
        for i in range(self.s.layers):
            layers += [torch.nn.Linear(width if i == 0 else self.s.hidden, self.s.hidden), torch.nn.ReLU()]
        layers.append(torch.nn.Linear(self.s.hidden, 1))
        return torch.nn.Sequential(*layers)

    def fit(self, X: np.ndarray, y: np.ndarray, X_pool: np.ndarray | None = None) -> RankNet:
        """Train on (X, y); ``X_pool`` holds encoded unlabelled genotypes the synthetic samples come from."""
        y01 = _minmax(np.asarray(y, float))[0]
        rng = np.random.default_rng(self.seed)
        synth_x = synth_y = None
        if self.s.synthetic and X_pool is not None and len(X_pool):
            teachers = [SklearnPredictor(t, self.seed).fit(X, y01) for t in self.s.teachers]
            synth_x = np.asarray(X_pool, np.float32)
            # the teachers' mean, clipped to the genuine targets' range
            synth_y = np.clip(np.mean([t.predict(synth_x) for t in teachers], axis=0), 0.0, 1.0)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.net = self._build(X.shape[1])
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # an MLP on a few hundred rows: more threads only add overhead
        try:
            self._train(X, y01, synth_x, synth_y, rng)
        finally:
            torch.set_num_threads(threads)
        return self

    def _train(self, X: np.ndarray, y01: np.ndarray, synth_x, synth_y, rng: np.random.Generator) -> None:
        opt = torch.optim.Adam(self.net.parameters(), lr=self.s.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.s.epochs)
        xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y01, dtype=torch.float32)
        self.net.train()
        for _ in range(self.s.epochs):
            bx, by = xt, yt
            if synth_x is not None:
                pick = rng.choice(len(synth_x), size=min(self.s.synthetic, len(synth_x)), replace=False)
                bx = torch.cat([xt, torch.as_tensor(synth_x[pick])])
                by = torch.cat([yt, torch.as_tensor(synth_y[pick], dtype=torch.float32)])
            pred = torch.sigmoid(self.net(bx).squeeze(1))
            l2 = sum((p ** 2).sum() for p in self.net.parameters())
            loss = ranking_loss(pred, by, self.s.margin) + self.s.weight_decay * l2
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        self.net.eval()

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.net is None:
            raise RuntimeError("RankNet.predict before fit")
        with torch.no_grad():
            return torch.sigmoid(self.net(torch.as_tensor(X, dtype=torch.float32)).squeeze(1)).double().numpy()


SKLEARN = ("rbf", "kriging", "svr", "dt", "gb")
PREDICTORS = ("ranknet", *SKLEARN)


def make_predictor(name: str, seed: int = 0, ranknet: Mapping[str, Any] | None = None) -> RankNet | SklearnPredictor:
    """The predictor called ``name`` (``ranknet`` reads its settings from ``ranknet``)."""
    if name == "ranknet":
        return RankNet(RankNetSettings.from_config(ranknet), seed)
    if name in SKLEARN:
        return SklearnPredictor(name, seed)
    raise ConfigError(f"unknown accuracy predictor '{name}'; choose from {list(PREDICTORS)}")


def correlations(pred: Sequence[float], truth: Sequence[float]) -> dict[str, float]:
    """Pearson r, Spearman rho and Kendall tau of predictions against the truth (Table V's three)."""
    from scipy.stats import kendalltau, pearsonr, spearmanr

    p, t = np.asarray(pred, float), np.asarray(truth, float)
    if len(p) < 3 or np.ptp(p) == 0 or np.ptp(t) == 0:
        return {"pearson": float("nan"), "spearman": float("nan"), "kendall": float("nan")}
    return {"pearson": float(pearsonr(p, t)[0]), "spearman": float(spearmanr(p, t)[0]),
            "kendall": float(kendalltau(p, t)[0])}

