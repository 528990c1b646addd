"""NUTS's budget and settings, one validated value passed whole wherever a posterior is drawn."""

from __future__ import annotations

from dataclasses import dataclass

from bayes_reg import _validate

__all__ = ["Sampler", "as_sampler"]


@dataclass(frozen=True)
class Sampler:
    """How long and how NUTS runs.

    Parameters
    ----------
    chains : int
        Independent chains, inside one compiled program: in parallel over the devices (one per
        CPU core), one after another on each.
    warmup, draws : int
        Warmup iterations (step size and mass matrix adaptation, the mass matrix starting
        from one over the curvature of the log density at each chain's starting point) and
        kept draws, per chain.
    target_accept : float
        Target mean acceptance probability of the step-size adaptation, in (0, 1).
    max_tree_depth : int
        Longest trajectory, ``2**max_tree_depth`` leapfrog steps.
    dense_mass : bool or "auto"
        Adapt a dense mass matrix (the posterior's covariance) instead of a diagonal one: worth
        it for a strongly correlated posterior of small dimension. ``"auto"`` (default): dense
        where the model's sampler knows it pays (the linear model with at most
        :data:`~bayes_reg.linear.mass.MAX_COEFFICIENTS` coefficients whose posterior
        correlation, judged from the design before sampling, is strong), diagonal otherwise.

    Examples
    --------
    >>> Sampler(chains=2, draws=500).iterations  # two chains of 1000 warmup + 500 draws
    3000
    """

    chains: int = 4
    warmup: int = 1000
    draws: int = 1000
    target_accept: float = 0.8
    max_tree_depth: int = 10
    dense_mass: bool | str = "auto"

    def __post_init__(self):
        for name in ("chains", "warmup", "draws", "max_tree_depth"):
            object.__setattr__(self, name, _validate.positive_int(name, getattr(self, name)))
        target = _validate.fraction(
            "target_accept", self.target_accept, low_open=True, high_open=True
        )
        object.__setattr__(self, "target_accept", target)
        if not (isinstance(self.dense_mass, bool) or self.dense_mass == "auto"):
            raise TypeError(f'dense_mass must be True, False or "auto", got {self.dense_mass!r}')

    @property
    def iterations(self) -> int:
        """Iterations over all chains, warmup included (what a progress bar counts)."""
        return self.chains * (self.warmup + self.draws)


def as_sampler(sampler: Sampler | None, **defaults) -> Sampler:
    """``sampler``, or ``Sampler(**defaults)`` for ``None``; anything else is refused."""
    if sampler is None:
        return Sampler(**defaults)
    if not isinstance(sampler, Sampler):
        raise TypeError(
            f"sampler must be a bayes_reg.Sampler, e.g. Sampler(chains=4, draws=1000); got "
            f"{sampler!r}"
        )
    return sampler
