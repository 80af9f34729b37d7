"""Evaluators for the Younger tasks (OGB-style): one input format and one set of metrics per task, so
that figures from different users and different training code are comparable.

    import younger_graph as yg

    ev = yg.LinkEvaluator()
    ev.eval({"y_pred_pos": probs_of_hidden_flows, "y_pred_neg": probs_of_non_flows})
    # {'auc': 0.93, 'ap': 0.91, 'f1': 0.85, 'positives': 410, 'negatives': 410}

    yg.OperatorEvaluator().eval({"y_true": batch.y, "y_pred": logits})      # -100 entries are skipped
    yg.GraphEvaluator("float").eval({"y_true": y, "y_pred": y_hat})

The metrics are the Younger paper's: ROC-AUC, average precision and F1 for link prediction; accuracy
and macro F1 / precision / recall for operator (and class-valued graph) prediction. They are
computed here with numpy only, with scikit-learn's definitions (tests/test_evaluate.py checks them
against scikit-learn on fixed inputs): AUC with tied scores counted one half, average precision as
sum_n (R_n - R_{n-1}) P_n over the distinct scores, macro averages over the classes that occur in
the truth or the predictions, 0 where a ratio has a zero denominator (`zero_division=0`).

Inputs may be numpy arrays, lists or torch tensors (read through `.detach().cpu().numpy()`, so
torch is never imported here). Malformed input raises `younger_graph.errors.UsageError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from younger_graph.errors import UsageError

__all__ = ["IGNORE_INDEX", "GraphEvaluator", "LinkEvaluator", "OperatorEvaluator"]

IGNORE_INDEX = -100  # the export's y on nodes that are not targets (cross_entropy's default ignore_index)


# -- input ----------------------------------------------------------------------------------------
def as_array(value: Any, name: str) -> np.ndarray:
    """A numpy array from an array, a list or a torch tensor (without importing torch)."""
    if value is None:
        raise UsageError(f"the evaluator's input lacks {name!r}")
    if hasattr(value, "detach"):  # a torch tensor: leave the graph and the device
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _vector(value: Any, name: str) -> np.ndarray:
    array = as_array(value, name)
    if array.ndim != 1:
        raise UsageError(f"{name!r} must be one-dimensional, not of shape {tuple(array.shape)}")
    return array


def _scores(value: Any, name: str) -> np.ndarray:
    array = _vector(value, name).astype(np.float64)
    if not np.isfinite(array).all():
        raise UsageError(f"{name!r} holds a value that is not a finite number")
    return array


def _same_length(a: np.ndarray, b: np.ndarray, names: str) -> None:
    if len(a) != len(b):
        raise UsageError(f"{names} differ in length ({len(a)} and {len(b)})")


# -- metrics ---------------------------------------------------------------------------------------
def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney: tied scores count one half); None without both classes."""
    pos = int(y_true.sum())
    neg = len(y_true) - pos
    if not pos or not neg:
        return None
    return float((average_ranks(score)[y_true == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given the mean of the ranks they span."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(values)]  # exclusive
    mean_rank = (starts + 1 + ends) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = mean_rank[group]
    return ranks


def average_precision(y_true: np.ndarray, score: np.ndarray) -> float | None:
    """sum_n (R_n - R_{n-1}) P_n over the distinct scores, highest first; None without positives."""
    pos = int(y_true.sum())
    if not pos or not len(y_true):
        return None
    order = np.argsort(-score, kind="mergesort")
    s, y = score[order], y_true[order]
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]  # the last index of each distinct score
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def binary_f1(y_true: np.ndarray, predicted: np.ndarray) -> float:
    tp = int(np.sum(predicted & (y_true == 1)))
    fp = int(np.sum(predicted & (y_true == 0)))
    fn = int(np.sum(~predicted & (y_true == 1)))
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def macro_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Accuracy and macro F1 / precision / recall over the classes in the truth or the predictions."""
    labels, index = np.unique(np.r_[y_true, y_pred], return_inverse=True)
    k, n = len(labels), len(y_true)
    t, p = index[:n], index[n:]
    tp = np.bincount(t[t == p], minlength=k).astype(np.float64)
    predicted = np.bincount(p, minlength=k).astype(np.float64)
    actual = np.bincount(t, minlength=k).astype(np.float64)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros(k), where=actual > 0)
    f1 = np.divide(2 * tp, predicted + actual, out=np.zeros(k), where=predicted + actual > 0)
    return {"acc": float(tp.sum() / n), "f1": float(f1.mean()), "precision": float(precision.mean()),
            "recall": float(recall.mean())}


# -- evaluators --------------------------------------------------------------------------------------
class LinkEvaluator:
    """Link prediction: scored pairs of nodes, each a flow (positive) or not (negative)."""

    name = "link"
    metrics = ("auc", "ap", "f1")

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = float(threshold)

    @property
    def expected_input_format(self) -> str:
        return ("LinkEvaluator.eval(input_dict), input_dict either\n"
                "  {'y_pred_pos': [P] scores of the flows, 'y_pred_neg': [Q] scores of the non-flows}\n"
                "  or {'y_true': [N] labels 1 (flow) / 0 (non-flow), 'y_pred': [N] scores}.\n"
                "A score is the predicted probability that the pair is a flow: AUC and AP use only its order,\n"
                f"F1 counts score >= threshold ({self.threshold:g}) as a predicted flow. numpy arrays, lists or\n"
                "torch tensors.")

    @property
    def expected_output_format(self) -> str:
        return ("{'auc': ROC-AUC, 'ap': average precision, 'f1': F1 of the flows at the threshold,\n"
                " 'positives': P, 'negatives': Q}; auc and ap are None when one class is absent.")

    def eval(self, input_dict: dict[str, Any]) -> dict[str, Any]:
        y_true, score = self._read(input_dict)
        pos = int(y_true.sum())
        return {"auc": roc_auc(y_true, score), "ap": average_precision(y_true, score),
                "f1": binary_f1(y_true, score >= self.threshold), "positives": pos,
                "negatives": len(y_true) - pos}

    def _read(self, input_dict: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        if "y_pred_pos" in input_dict or "y_pred_neg" in input_dict:
            pos = _scores(input_dict.get("y_pred_pos"), "y_pred_pos")
            neg = _scores(input_dict.get("y_pred_neg"), "y_pred_neg")
            y_true = np.r_[np.ones(len(pos), np.int64), np.zeros(len(neg), np.int64)]
            score = np.r_[pos, neg]
        else:
            y_true = _vector(input_dict.get("y_true"), "y_true")
            score = _scores(input_dict.get("y_pred"), "y_pred")
            _same_length(y_true, score, "'y_true' and 'y_pred'")
            if not np.isin(y_true, (0, 1)).all():
                raise UsageError("'y_true' of a link evaluation holds labels other than 0 and 1")
            y_true = y_true.astype(np.int64)
        if not len(y_true):
            raise UsageError("nothing to evaluate: no scored pairs")
        return y_true, score


class OperatorEvaluator:
    """Operator prediction: the true and predicted operator class (vocabulary index) of each target node."""

    name = "operator"
    metrics = ("acc", "f1", "precision", "recall")

    def __init__(self, ignore_index: int | None = IGNORE_INDEX) -> None:
        self.ignore_index = ignore_index

    @property
    def expected_input_format(self) -> str:
        return ("OperatorEvaluator.eval({'y_true': [N] class indices, 'y_pred': [N] class indices or [N, C] scores})\n"
                f"Entries whose y_true is {self.ignore_index} (the export's non-target nodes) are skipped;\n"
                "[N, C] scores (logits or probabilities) are read as their argmax. numpy arrays, lists or\n"
                "torch tensors.")

    @property
    def expected_output_format(self) -> str:
        return ("{'acc': accuracy, 'f1': macro F1, 'precision': macro precision, 'recall': macro recall,\n"
                " 'nodes': N evaluated}; macro averages over the classes in y_true or y_pred, 0 for a class\n"
                " whose ratio has a zero denominator.")

    def eval(self, input_dict: dict[str, Any]) -> dict[str, Any]:
        y_true, y_pred = read_classes(input_dict, self.ignore_index)
        return {**macro_scores(y_true, y_pred), "nodes": len(y_true)}


def read_classes(input_dict: dict[str, Any], ignore_index: int | None) -> tuple[np.ndarray, np.ndarray]:
    y_true = _vector(input_dict.get("y_true"), "y_true")
    y_pred = as_array(input_dict.get("y_pred"), "y_pred")
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(axis=1)
    elif y_pred.ndim != 1:
        raise UsageError(f"'y_pred' must be [N] classes or [N, C] scores, not of shape {tuple(y_pred.shape)}")
    _same_length(y_true, y_pred, "'y_true' and 'y_pred'")
    if ignore_index is not None:
        keep = y_true != ignore_index
        y_true, y_pred = y_true[keep], y_pred[keep]
    if not len(y_true):
        raise UsageError("nothing to evaluate: no target nodes")
    return y_true, y_pred


class GraphEvaluator:
    """Graph-level prediction (`export pyg --task graph`): a class per graph, or a number per graph."""

    name = "graph"

    def __init__(self, kind: str = "class") -> None:
        if kind not in ("class", "float"):
            raise UsageError(f"GraphEvaluator kind must be 'class' or 'float' (targets.json's kind), not {kind!r}")
        self.kind = kind
        self.metrics = ("acc", "f1", "precision", "recall") if kind == "class" else ("mae", "rmse", "r2")

    @property
    def expected_input_format(self) -> str:
        if self.kind == "class":
            return ("GraphEvaluator('class').eval({'y_true': [G] class indices, 'y_pred': [G] classes or "
                    "[G, C] scores})")
        return "GraphEvaluator('float').eval({'y_true': [G] numbers, 'y_pred': [G] numbers})"

    @property
    def expected_output_format(self) -> str:
        if self.kind == "class":
            return "{'acc', 'f1', 'precision', 'recall' (macro, as OperatorEvaluator), 'graphs': G}"
        return "{'mae', 'rmse', 'r2' (1 - SS_res / SS_tot; None when y_true is constant), 'graphs': G}"

    def eval(self, input_dict: dict[str, Any]) -> dict[str, Any]:
        if self.kind == "class":
            y_true, y_pred = read_classes(input_dict, None)
            return {**macro_scores(y_true, y_pred), "graphs": len(y_true)}
        y_true = _scores(input_dict.get("y_true"), "y_true")
        y_pred = _scores(input_dict.get("y_pred"), "y_pred")
        _same_length(y_true, y_pred, "'y_true' and 'y_pred'")
        if not len(y_true):
            raise UsageError("nothing to evaluate: no graphs")
        error = y_pred - y_true
        total = float(np.sum((y_true - y_true.mean()) ** 2))
        return {"mae": float(np.abs(error).mean()), "rmse": float(np.sqrt(np.mean(error ** 2))),
                "r2": 1.0 - float(np.sum(error ** 2)) / total if total > 0 else None, "graphs": len(y_true)}
