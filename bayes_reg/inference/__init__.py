"""Model-agnostic inference machinery: the compiled NUTS program and its diagnostics."""
