"""float64 by default: the Python API must not hand back float32 answers that are wrong.

Each check runs in a fresh interpreter that has not touched JAX's x64 switch, as a user's
script would (the test session itself enables x64 in conftest.py, so it cannot show this).
The reference is NIST's Statistical Reference Datasets, Longley (1967): 16 rows, 6 nearly
collinear regressors (condition number ~1e9 before scaling), with certified least-squares
coefficients to 15 digits.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

# NIST StRD Longley.dat: y (total employment), then x1..x6 per row; certified B1..B6.
_LONGLEY = """
60323 83.0 234289 2356 1590 107608 1947
61122 88.5 259426 2325 1456 108632 1948
60171 88.2 258054 3682 1616 109773 1949
61187 89.5 284599 3351 1650 110929 1950
63221 96.2 328975 2099 3099 112075 1951
63639 98.1 346999 1932 3594 113270 1952
64989 99.0 365385 1870 3547 115094 1953
63761 100.0 363112 3578 3350 116219 1954
66019 101.2 397469 2904 3048 117388 1955
67857 104.6 419180 2822 2857 118734 1956
68169 108.4 442769 2936 2798 120445 1957
66513 110.8 444546 4681 2637 121950 1958
68655 112.6 482704 3813 2552 123366 1959
69564 114.2 502601 3931 2514 125368 1960
69331 115.7 518173 4806 2572 127852 1961
70551 116.9 554894 4007 2827 130081 1962
"""
_CERTIFIED = [
    15.0618722713733,
    -0.358191792925910e-01,
    -2.02022980381683,
    -1.03322686717359,
    -0.511041056535807e-01,
    1829.15146461355,
]
_B0 = -3482258.63459582
_RESIDUAL_SD = 304.854073561965


def _fresh(code: str) -> subprocess.CompletedProcess:
    prelude = textwrap.dedent(
        f"""
        import numpy as np
        L = np.array([r.split() for r in {_LONGLEY!r}.strip().splitlines()], float)
        y, X = L[:, 0], L[:, 1:]
        certified = np.array({_CERTIFIED!r})
        """
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"},
    )


def test_the_api_solves_longley_in_float64_without_being_asked():
    # A Gaussian prior of scale 1e10 is flat at these coefficients' sizes (its pull on them is
    # ~sigma²/1e20 relative), so the MAP and the posterior mean are the least-squares fit.
    run = _fresh(
        f"""
        import bayes_reg as br
        prior = br.Gaussian(1e10)
        mode = br.map_model(
            br.linear_regression, X, y, prior=prior, sigma={_RESIDUAL_SD}, parametrization="direct"
        )
        est = br.map_estimate(X, y, prior, sigma={_RESIDUAL_SD})
        post = br.exact_posterior(X, y, prior_scale=1e10, sigma={_RESIDUAL_SD})
        # The solvers of the mode reach 1e-11 here; the posterior's Cholesky route is bounded
        # by eps * cond(X) ~ 2e-16 * 1e9: 1e-6 (float32 misses by a factor of up to 7).
        for name, w, b, tol in (
            ("map_model", mode["w"], mode["b"], 1e-9),
            ("map_estimate", est.w, est.b, 1e-9),
            ("exact_posterior", post.w_mean, post.b_mean, 1e-6),
        ):
            assert np.asarray(w).dtype == np.float64, (name, np.asarray(w).dtype)
            err = np.max(np.abs(np.asarray(w) / certified - 1))
            assert err < tol, (name, err)
            assert abs(float(b) / {_B0} - 1) < tol, (name, float(b))
        print("ok")
        """
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"


def test_the_exact_solvers_refuse_float32_and_say_how_to_fix_it():
    run = _fresh(
        """
        import jax
        import bayes_reg as br
        jax.config.update("jax_enable_x64", False)
        calls = {
            "map_estimate": lambda: br.map_estimate(X, y, br.Gaussian(1e10), sigma=300.0),
            "map_model": lambda: br.map_model(
                br.linear_regression, X, y, prior=br.Gaussian(1e10), sigma=300.0,
                parametrization="direct",
            ),
            "exact_posterior": lambda: br.exact_posterior(X, y, prior_scale=1e10, sigma=300.0),
            "log_evidence": lambda: br.log_evidence(X, y, prior_scale=1e10, sigma=300.0),
            "fit_evidence": lambda: br.fit_evidence(X, y),
            "best_prior_scale": lambda: br.best_prior_scale(X, y, sigma=300.0),
        }
        for name, call in calls.items():
            try:
                call()
            except RuntimeError as err:
                assert name in str(err) and 'jax.config.update("jax_enable_x64", True)' in str(
                    err
                ), str(err)
            else:
                raise AssertionError(f"{name} ran in float32")
        print("refused")
        """
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "refused"
