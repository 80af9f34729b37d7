"""younger_graph.evaluate against scikit-learn's metrics on fixed inputs (ties, missing classes, ignored nodes)."""

from __future__ import annotations

import numpy as np
import pytest

import younger_graph as yg
from younger_graph.errors import UsageError
from younger_graph.evaluate import IGNORE_INDEX, GraphEvaluator, LinkEvaluator, OperatorEvaluator

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def _link_inputs(seed: int, n: int = 500, rounding: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * y)))
    if rounding is not None:
        score = np.round(score, rounding)  # many ties
    return y, score


@pytest.mark.parametrize("rounding", [None, 1, 2])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_link_metrics_equal_sklearn(seed: int, rounding: int | None) -> None:
    y, score = _link_inputs(seed, rounding=rounding)
    got = LinkEvaluator().eval({"y_true": y, "y_pred": score})
    assert got["auc"] == pytest.approx(sklearn_metrics.roc_auc_score(y, score), abs=1e-12)
    assert got["ap"] == pytest.approx(sklearn_metrics.average_precision_score(y, score), abs=1e-12)
    assert got["f1"] == pytest.approx(sklearn_metrics.f1_score(y, score >= 0.5), abs=1e-12)
    assert got["positives"] == int(y.sum()) and got["negatives"] == int(len(y) - y.sum())


def test_link_pos_neg_form_equals_labelled_form() -> None:
    y, score = _link_inputs(3, rounding=2)
    labelled = LinkEvaluator(threshold=0.6).eval({"y_true": y, "y_pred": score})
    split = LinkEvaluator(threshold=0.6).eval({"y_pred_pos": score[y == 1], "y_pred_neg": score[y == 0]})
    assert labelled == split
    assert split["f1"] == pytest.approx(sklearn_metrics.f1_score(y, score >= 0.6), abs=1e-12)


def test_link_hand_computed_case() -> None:
    # positives 0.9, 0.4; negatives 0.4, 0.1: pairs (pos > neg) = 1 + 1 + 0.5 (tie) + 1 of 4
    got = LinkEvaluator().eval({"y_pred_pos": [0.9, 0.4], "y_pred_neg": [0.4, 0.1]})
    assert got["auc"] == pytest.approx(3.5 / 4)
    # thresholds 0.9 (P 1, R 1/2), 0.4 (P 2/3, R 1): AP = 1/2 * 1 + 1/2 * 2/3
    assert got["ap"] == pytest.approx(0.5 + 1 / 3)
    assert got["f1"] == pytest.approx(2 / 3)  # one true flow above 0.5, one missed, none false


def test_link_one_class_has_no_auc() -> None:
    got = LinkEvaluator().eval({"y_pred_pos": [0.2, 0.7], "y_pred_neg": []})
    assert got["auc"] is None and got["ap"] == pytest.approx(1.0)
    assert LinkEvaluator().eval({"y_pred_pos": [], "y_pred_neg": [0.3]})["ap"] is None


@pytest.mark.parametrize("seed", [0, 1])
def test_operator_metrics_equal_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 12, 400)
    pred = np.where(rng.random(400) < 0.6, y, rng.integers(0, 15, 400))  # classes 12..14 only predicted
    y[:5] = 20  # a class never predicted
    got = OperatorEvaluator().eval({"y_true": y, "y_pred": pred})
    p, r, f, _ = sklearn_metrics.precision_recall_fscore_support(y, pred, average="macro", zero_division=0)
    assert got["acc"] == pytest.approx(sklearn_metrics.accuracy_score(y, pred), abs=1e-12)
    assert got["f1"] == pytest.approx(f, abs=1e-12)
    assert got["precision"] == pytest.approx(p, abs=1e-12)
    assert got["recall"] == pytest.approx(r, abs=1e-12)
    assert got["nodes"] == 400


def test_operator_reads_scores_and_skips_ignored_nodes() -> None:
    torch = pytest.importorskip("torch")
    logits = torch.tensor([[0.1, 2.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0]], requires_grad=True)
    y = torch.tensor([1, IGNORE_INDEX, 0, 0])
    got = OperatorEvaluator().eval({"y_true": y, "y_pred": logits})
    kept_true, kept_pred = [1, 0, 0], [1, 2, 0]
    assert got["nodes"] == 3
    assert got["acc"] == pytest.approx(sklearn_metrics.accuracy_score(kept_true, kept_pred))
    assert got["f1"] == pytest.approx(sklearn_metrics.f1_score(kept_true, kept_pred, average="macro",
                                                               zero_division=0))


def test_graph_evaluator_both_kinds() -> None:
    rng = np.random.default_rng(5)
    y, y_hat = rng.normal(size=50), rng.normal(size=50)
    got = GraphEvaluator("float").eval({"y_true": y, "y_pred": y_hat})
    assert got["mae"] == pytest.approx(sklearn_metrics.mean_absolute_error(y, y_hat))
    assert got["rmse"] == pytest.approx(np.sqrt(sklearn_metrics.mean_squared_error(y, y_hat)))
    assert got["r2"] == pytest.approx(sklearn_metrics.r2_score(y, y_hat))
    classes = GraphEvaluator("class").eval({"y_true": [0, 1, 2, 2], "y_pred": [0, 2, 2, 2]})
    assert classes["acc"] == pytest.approx(0.75) and classes["graphs"] == 4
    assert GraphEvaluator("float").eval({"y_true": [1.0, 1.0], "y_pred": [1.0, 2.0]})["r2"] is None


@pytest.mark.parametrize("bad", [
    {"y_true": [0, 1], "y_pred": [0.5]},  # lengths differ
    {"y_true": [0, 2], "y_pred": [0.5, 0.5]},  # not 0/1
    {"y_pred_pos": [float("nan")], "y_pred_neg": [0.1]},
    {"y_pred_pos": [], "y_pred_neg": []},  # nothing to evaluate
    {"y_true": [[0, 1]], "y_pred": [[0.5, 0.5]]},
    {"y_pred": [0.5]},
])
def test_link_bad_input_is_one_usage_error(bad: dict) -> None:
    with pytest.raises(UsageError) as exc:
        LinkEvaluator().eval(bad)
    assert "\n" not in str(exc.value)


def test_bad_operator_and_graph_input() -> None:
    with pytest.raises(UsageError):
        OperatorEvaluator().eval({"y_true": [IGNORE_INDEX], "y_pred": [3]})  # no target left
    with pytest.raises(UsageError):
        GraphEvaluator("regression")


def test_the_facade_and_the_export_agree() -> None:
    from younger_graph.export.builder import IGNORE_INDEX as EXPORTED

    assert EXPORTED == IGNORE_INDEX
    assert yg.LinkEvaluator is LinkEvaluator and yg.OperatorEvaluator is OperatorEvaluator
    assert yg.GraphEvaluator is GraphEvaluator
    for ev in (LinkEvaluator(), OperatorEvaluator(), GraphEvaluator("class"), GraphEvaluator("float")):
        assert ev.expected_input_format and ev.expected_output_format
