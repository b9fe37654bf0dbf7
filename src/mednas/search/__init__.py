"""Multi-objective architecture search: objectives, archive, Pareto front, strategies, final choice."""
