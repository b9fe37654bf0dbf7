"""Accuracy and area under the ROC curve for image classification (MedMNIST)."""

from __future__ import annotations

import numpy as np


def accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Fraction of samples whose predicted class equals the label."""
    labels, predicted = np.asarray(labels).ravel(), np.asarray(predicted).ravel()
    if labels.shape != predicted.shape or labels.size == 0:
        raise ValueError(f"need two non-empty label vectors of one length, got {labels.shape} and {predicted.shape}")
    return float((labels == predicted).mean())


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC: ``scores`` is (N,) for binary tasks or (N, C) class probabilities (macro one-vs-rest)."""
    import torch
    from monai.metrics import compute_roc_auc

    labels = np.asarray(labels).ravel().astype(np.int64)
    scores = np.ascontiguousarray(scores, dtype=np.float64)
    if scores.ndim == 2 and scores.shape[1] == 2:
        scores = np.ascontiguousarray(scores[:, 1])
    if scores.shape[0] != labels.shape[0]:
        raise ValueError(f"{scores.shape[0]} scores for {labels.shape[0]} labels")
    if scores.ndim == 1:
        if set(np.unique(labels)) - {0, 1}:
            raise ValueError("binary AUC needs labels in {0, 1}")
        return float(compute_roc_auc(torch.from_numpy(scores), torch.from_numpy(labels)))
    onehot = np.eye(scores.shape[1], dtype=np.float64)[labels]
    return float(compute_roc_auc(torch.from_numpy(scores), torch.from_numpy(onehot), average="macro"))


def medmnist_scores(labels: np.ndarray, probabilities: np.ndarray, task: str) -> dict[str, float]:
    """ACC and AUC exactly as MedMNIST's evaluator defines them for ``task`` (binary-class: AUC of
    the last class's probability, ACC at 0.5; multi-class and ordinal: one-vs-rest macro AUC,
    ACC of the arg-max), so that our figures compare with the benchmark's tables."""
    try:
        from medmnist.evaluator import getACC, getAUC
    except ImportError as err:
        raise ImportError("medmnist's evaluator needs scikit-learn and pandas; pip install --no-deps medmnist "
                          "scikit-learn") from err
    labels = np.asarray(labels).reshape(-1, 1)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or len(probabilities) != len(labels):
        raise ValueError(f"need (N, classes) probabilities for {len(labels)} labels, got {probabilities.shape}")
    return {"acc": float(getACC(labels, probabilities, task)), "auc": float(getAUC(labels, probabilities, task))}


def binary_scores(labels: np.ndarray, predicted: np.ndarray, positive: int) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and Jaccard of class ``positive`` against the rest (the
    hybrid MOEA/D + SA paper's Eqs. 8-12), from scikit-learn; 0 where a score is undefined."""
    from sklearn.metrics import accuracy_score, f1_score, jaccard_score, precision_score, recall_score

    labels, predicted = np.asarray(labels).ravel(), np.asarray(predicted).ravel()
    if labels.shape != predicted.shape or labels.size == 0:
        raise ValueError(f"need two non-empty label vectors of one length, got {labels.shape} and {predicted.shape}")
    y, p = labels == positive, predicted == positive
    kw = {"zero_division": 0}
    return {"acc": float(accuracy_score(labels, predicted)), "precision": float(precision_score(y, p, **kw)),
            "recall": float(recall_score(y, p, **kw)), "f1": float(f1_score(y, p, **kw)),
            "jaccard": float(jaccard_score(y, p, **kw))}
