"""Candidate evaluators: how good is one genotype, measured three ways.

``inherit`` (supernet weights, BN recalibrated), ``proxy`` (short training from scratch) and
``zerocost`` (training-free indicators at initialisation). Each is a callable
``evaluator(genotype) -> dict[str, float]`` with a fixed ``metrics`` tuple naming its outputs.
"""
