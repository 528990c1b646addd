"""The linear side: the Bayesian linear model, its MAP and exact posterior, weight-decay
SGD paths over a grid of strengths, and their comparison with the posterior."""
