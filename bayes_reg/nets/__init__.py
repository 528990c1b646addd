"""The network side: one MLP forward pass shared by dropout training, MC-dropout passes and
the Bayesian MLP sampled by NUTS; predictive scores; the UCI MC-dropout protocol."""
