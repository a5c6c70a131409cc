"""AutoML's wall clock: ``--time-budget`` covers meta-features, the search and the refit.

The search stops when what is left covers only the refit of the final model,
estimated from the best trials' cross-validation times.
"""

from __future__ import annotations

from tunelake.platform.trial.result import TrialResult


def refit_estimate(cv_seconds: float, folds: int) -> float:
    """Seconds to refit on all rows a pipeline whose k-fold cross-validation took ``cv_seconds``.

    Each of the k fits saw (k-1)/k of the rows. Fit time grows faster than
    the rows for some families (an SVM's kernel matrix, roughly squared), so
    the estimate assumes quadratic growth: one fit's time times (k/(k-1))².
    Linear-time families are over-estimated a little, which only ends the
    search a moment earlier; under-estimates overran the budget.
    """
    k = max(2, folds)
    return cv_seconds / k * (k / (k - 1)) ** 2


class RefitReserve:
    """The refit time of the ``refits`` best finished trials so far (an ensemble refits several).

    Scores are the scorer's, higher is better (scikit-learn's convention,
    which every AutoML metric follows).
    """

    def __init__(self, folds: int, refits: int = 1) -> None:
        self.folds = folds
        self.refits = refits
        self.best: list[tuple[float, float]] = []  # (score, refit seconds)

    def observe(self, result: TrialResult) -> None:
        if result.final and result.objective is not None:
            refit_s = refit_estimate(float(result.duration_s or 0.0), self.folds)
            self.best = sorted([*self.best, (result.objective, refit_s)], reverse=True)[:self.refits]

    @property
    def seconds(self) -> float:
        return sum(s for _, s in self.best)
