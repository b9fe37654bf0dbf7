"""Search strategies over any search space, each driving a :class:`CandidatePool`.

A strategy sees the space only through :class:`mednas.space.base.SearchSpace` (sample,
mutate, crossover, repair, pymoo variables): a new space needs no change here.

- ``ga``: CardiacNAS Algorithm 1. Random initial population; binary tournament parent
  selection on (feasibility, non-domination rank, crowding); the space's crossover and
  mutation (cardiac: uniform + blend crossover, resample / jitter mutation); elitist
  replacement keeping the best ``population`` of parents and offspring by the same order.
- ``nsga2``: pymoo's NSGA-II over the space's variables (integers, reals, choices).
- ``moead_sa``: pymoo's MOEA/D (the batch variant, one offspring per sub-problem per
  generation) on the integer coding of the variables, then simulated annealing from the
  ``sa_solutions`` points of its Pareto front closest to the origin; the annealing walk moves by the
  Metropolis rule on the mean normalised objective and a move replaces a solution's best only
  when it improves every objective (003's acceptance of a "best").
- ``random``: random distinct genotypes in batches of ``population``.
- ``surrogate``: MoSegNAS Algorithm 1 (:mod:`mednas.search.surrogate`): NSGA-II on an accuracy
  predictor and the true costs, ``surrogate.k`` pre-screened candidates per generation evaluated.

All stop when the pool's budget (distinct candidates) is spent. NSGA-II's last generation is cut to
the budget left (a generation that proposed a genotype already evaluated leaves one or two
candidates to spend, and a whole further generation for them cost the 2026-12-05 acdc_cpu run
19 extra trainings); MOEA/D's, whose offspring each belong to a sub-problem, can overshoot it by
less than one population, and moead_sa's annealing always takes its
``sa_solutions x sa_steps`` moves after MOEA/D has spent the rest (cost.json reports the
exact count).
"""

from __future__ import annotations

import itertools
import logging
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from mednas.errors import ConfigError, MednasError
from mednas.search.initial import DRAWS_PER_MEMBER, balanced_subset, check_initial_design, with_cost_strata
from mednas.search.pareto import survival_order
from mednas.search.pool import CandidatePool
from mednas.space.base import Genotype, IntegerCoding

log = logging.getLogger("mednas")


@dataclass(frozen=True)
class StrategySettings:
    """Config section ``search`` (the parts strategies use)."""

    population: int = 10
    generations: int = 20
    seed: int = 0
    # ga, nsga2, random: initial genotypes drawn within every budget (costs are known before training)
    feasible_init: bool = False
    # ga, nsga2: ``random`` draws, or a ``balanced`` design covering every gene's values evenly (search.initial)
    initial_design: str = "random"
    # ga
    crossover_rate: float = 0.9
    uniform_p: float = 0.5
    mutation_rate: float = 0.2
    jitter: float = 0.1
    # moead_sa
    neighbours: int = 3
    prob_neighbour_mating: float = 0.9
    resolution: float = 0.01
    sa_solutions: int = 3
    sa_steps: int = 3
    sa_t0: float = 0.05
    sa_cooling: float = 0.8
    sa_mutation_rate: float = 0.3
    penalty: float = 10.0
    # surrogate: the section as given, checked by mednas.search.surrogate.SurrogateSettings
    surrogate: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> StrategySettings:
        flat = {k: cfg[k] for k in ("population", "generations", "seed", "feasible_init", "initial_design")
                if k in cfg}
        for section in ("ga", "moead_sa"):
            flat.update(cfg.get(section) or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(flat) - known)
        if unknown:
            raise ConfigError(f"search: unknown strategy setting(s) {unknown}")
        if cfg.get("surrogate") is not None:
            from mednas.search.surrogate import SurrogateSettings

            SurrogateSettings.from_config(cfg["surrogate"])
            flat["surrogate"] = dict(cfg["surrogate"])
        s = cls(**flat)
        check_initial_design(s.initial_design)
        if s.population < 2 or s.generations < 1:
            raise ConfigError(f"search.population must be >= 2 and search.generations >= 1, got {s.population}, "
                              f"{s.generations}")
        return s

    @property
    def budget(self) -> int:
        """Distinct candidates a search may evaluate: population x generations (the paper's 10 x 20 = 200)."""
        return self.population * self.generations

    @property
    def max_generations(self) -> int:
        # Generations of repeats only (a converged population) must end the search too.
        return 5 * self.generations + 5


def _distinct_new(pool: CandidatePool, n: int, draw, tries_per: int = 100, phase: str = "") -> list[Genotype]:
    out: dict[str, Genotype] = {}
    for _ in range(n * tries_per):
        if len(out) >= n:
            break
        g = draw()
        g = pool.space.repair(g)
        if not pool.known(g, phase) and g.key() not in out:
            out[g.key()] = g
    return list(out.values())


FEASIBLE_TRIES = 500
FEASIBLE_INIT_STRATEGIES = ("ga", "nsga2", "random")


def _initial_draw(pool: CandidatePool, s: StrategySettings, rng: random.Random):
    """A draw of one initial genotype; with ``feasible_init``, one within every budget.

    Under tight budgets most random genotypes break one, and constrained survival ranks those by
    violation alone: the narrowest networks violate least, so the population shrinks to the
    space's lower bound before Dice can matter (measured on real ACDC: every one of 60 candidates
    at 8 filters). Rejection sampling on the costs, which need no training, starts the search
    inside the feasible region instead (OFA and BigNAS sample under their latency constraint the
    same way).
    """
    if not s.feasible_init:
        return lambda: pool.space.sample(rng)

    def draw() -> Genotype:
        for _ in range(FEASIBLE_TRIES):
            g = pool.space.repair(pool.space.sample(rng))
            if pool.within_budgets(g):
                return g
        raise MednasError(f"search.feasible_init: no genotype within search.budgets "
                          f"{dict(pool.objectives.budgets)} in {FEASIBLE_TRIES} random draws")
    return draw


def _initial_population(pool: CandidatePool, s: StrategySettings, rng: random.Random) -> list[Genotype]:
    """The GA's first generation: distinct initial draws, or a balanced design chosen among many of them."""
    n = min(s.population, pool.remaining)
    if s.initial_design == "random":
        return _distinct_new(pool, n, _initial_draw(pool, s, rng))
    draws = _distinct_new(pool, DRAWS_PER_MEMBER * n, _initial_draw(pool, s, rng), tries_per=10)
    if len(draws) < n:  # a space with fewer distinct genotypes than that: every one of them
        return draws
    return [draws[i] for i in _balanced(pool, draws, n, rng)]


def _balanced(pool: CandidatePool, genotypes: list[Genotype], n: int, rng: random.Random) -> list[int]:
    """Indices of a balanced design of ``n`` among ``genotypes``: genes and budgeted costs stratified."""
    budgeted = tuple(pool.objectives.budgets)
    costs = [pool.cost_of(g, budgeted) for g in genotypes] if budgeted else []
    rows, variables = with_cost_strata([g.to_dict() for g in genotypes], pool.space.variables(), costs)
    return balanced_subset(rows, variables, n, rng)


# -- ga ---------------------------------------------------------------------------------
def binary_tournament(position: np.ndarray, rng: random.Random) -> int:
    """Index of the better of two members drawn with replacement (lower ``position`` is better)."""
    a, b = rng.randrange(len(position)), rng.randrange(len(position))
    return a if position[a] <= position[b] else b


def run_ga(pool: CandidatePool, s: StrategySettings) -> dict[str, Any]:
    space, rng = pool.space, random.Random(s.seed)
    gen = 1
    pop = pool.evaluate(_initial_population(pool, s, rng), gen, "init")
    pool.end_generation(gen)
    while pool.remaining > 0 and gen < s.max_generations:
        gen += 1
        F, cv = pool.matrix(pop)
        order = survival_order(F, cv)
        position = np.empty(len(pop), dtype=int)
        position[order] = np.arange(len(pop))

        def tournament() -> Genotype:
            return pool.genotype(pop[binary_tournament(position, rng)])

        def child() -> Genotype:
            a, b = tournament(), tournament()
            c = space.crossover(a, b, rng, s.uniform_p) if rng.random() < s.crossover_rate else a
            return space.mutate(c, rng, s.mutation_rate, s.jitter)

        children = _distinct_new(pool, min(s.population, pool.remaining), child)
        if not children:
            log.info("ga: no new offspring in generation %d; the search ends early", gen)
            break
        merged = pop + pool.evaluate(children, gen, "offspring")
        F, cv = pool.matrix(merged)
        pop = [merged[i] for i in survival_order(F, cv)[:s.population]]
        pool.end_generation(gen)
    pool.set_population(pop)
    return {"generations": gen}


# -- random -----------------------------------------------------------------------------
def run_random(pool: CandidatePool, s: StrategySettings) -> dict[str, Any]:
    rng = random.Random(s.seed)
    draw = _initial_draw(pool, s, rng)  # random search: every draw is an initial one
    gen = 0
    while pool.remaining > 0 and gen < s.max_generations:
        gen += 1
        batch = _distinct_new(pool, min(s.population, pool.remaining), draw)
        if not batch:
            break
        pool.evaluate(batch, gen, "random")
        pool.end_generation(gen)
    pool.set_population(pool.records())  # no population: everything it drew is its final set
    return {"generations": gen}


# -- pymoo strategies -------------------------------------------------------------------
def _ask_tell(pool: CandidatePool, s: StrategySettings, algorithm, problem, decode, phase: str,
              budget: int, objective, cut_last: bool = False) -> int:
    """Drive a pymoo algorithm by ask / tell until ``budget`` distinct candidates are seen.

    With ``cut_last`` (algorithms whose survival takes any number of offspring, as NSGA-II's
    does) a generation is told only the offspring that fit in the budget left.

    ``objective(records)`` gives the (F, G or None) rows pymoo ranks. Where the objectives are
    relative to the set compared (MSTF-NAS Eq. 5 normalises over the population), the current
    population's rows are recomputed together with the offspring's before every tell, so that
    survivors and offspring are compared on one scale and one genotype's values do not depend on
    the batch it first appeared in.
    """
    from pymoo.termination.max_gen import MaximumGenerationTermination

    algorithm.setup(problem, termination=MaximumGenerationTermination(s.max_generations), seed=s.seed)
    gen = 0
    while len(pool.seen) < budget and algorithm.has_next():
        infills = algorithm.ask()
        if infills is None or not len(infills):  # mating found no offspring unlike the population: converged
            log.info("%s: no new offspring in generation %d; the search ends early", phase, gen + 1)
            break
        gen += 1
        genotypes = [decode(x) for x in infills.get("X")]
        if cut_last and len(keep := pool.fitting(genotypes, budget, phase)) < len(genotypes):
            infills, genotypes = infills[keep], [genotypes[i] for i in keep]
        records = pool.evaluate(genotypes, gen, phase)
        pop = algorithm.pop
        others = []
        if pool.objectives.relative and pop is not None and len(pop):
            others = [pool.record_of(decode(x), phase) for x in pop.get("X")]
        F, G = objective(records + others)
        n = len(records)
        infills.set("F", F[:n])
        if G is not None:
            infills.set("G", G[:n])
        if others:
            pop.set("F", F[n:])
            if hasattr(algorithm, "ideal"):  # MOEA/D's ideal point, on the new scale
                algorithm.ideal = F.min(axis=0)
        algorithm.tell(infills=infills)
        pool.end_generation(gen)
    if algorithm.pop is not None:
        pool.set_population([pool.record_of(decode(x), phase) for x in algorithm.pop.get("X")])
    if len(pool.seen) < budget:
        log.info("%s: stopped at the cap of %d generations with %d of %d distinct candidates (the population "
                 "kept proposing genotypes already evaluated)", phase, s.max_generations, len(pool.seen), budget)
    return gen


def _accepted_draws(problem, decode, per_round: int, rounds: int, want: int, accept, key, random_state,
                    **kwargs) -> list:
    """Up to ``want`` draws of pymoo's mixed-variable sampling whose genotype (``decode(x)``) ``accept``
    takes, one per ``key(genotype)``, from at most ``rounds`` rounds of ``per_round`` draws (the
    rejection loop of both samplings below)."""
    from pymoo.core.mixed import MixedVariableSampling

    kept: dict[Any, Any] = {}
    for _ in range(rounds):
        for x in MixedVariableSampling()._do(problem, per_round, random_state=random_state, **kwargs):
            if len(kept) < want and accept(g := decode(x)):
                kept.setdefault(key(g), x)
        if len(kept) >= want:
            break
    return list(kept.values())


def _feasible_sampling(pool: CandidatePool, decode):
    """pymoo's mixed-variable sampling kept to the genotypes within every budget (``feasible_init``)."""
    from pymoo.core.sampling import Sampling

    class FeasibleSampling(Sampling):
        def _do(self, problem, n_samples, random_state=None, **kwargs):
            order = itertools.count()  # every accepted draw kept, repeats too, as pymoo's own sampling does
            out = _accepted_draws(problem, decode, n_samples, FEASIBLE_TRIES // max(n_samples, 1) + 1, n_samples,
                                  pool.within_budgets, lambda g: next(order), random_state, **kwargs)
            if len(out) < n_samples:
                raise MednasError(f"search.feasible_init: fewer than {n_samples} genotypes within search.budgets "
                                  f"{dict(pool.objectives.budgets)} in about {FEASIBLE_TRIES} random draws")
            return out

    return FeasibleSampling()


def _balanced_sampling(pool: CandidatePool, decode, feasible: bool):
    """pymoo's mixed-variable sampling drawn about ``DRAWS_PER_MEMBER`` times over (within every budget when
    ``feasible``), reduced to a balanced design (``search.initial_design: balanced``)."""
    from pymoo.core.sampling import Sampling

    class BalancedSampling(Sampling):
        def _do(self, problem, n_samples, random_state=None, **kwargs):
            want, rounds = DRAWS_PER_MEMBER * n_samples, max(1, FEASIBLE_TRIES // n_samples)
            xs = _accepted_draws(problem, decode, want, rounds, want,
                                 lambda g: not feasible or pool.within_budgets(g), lambda g: g.key(),
                                 random_state, **kwargs)
            if len(xs) < n_samples:
                raise MednasError(f"search.initial_design balanced: {len(xs)} distinct genotypes"
                                  f"{' within search.budgets ' + str(dict(pool.objectives.budgets)) if feasible else ''}"
                                  f" in {rounds * want} random draws, fewer than the population of {n_samples}")
            rng = random.Random(int(random_state.integers(2**31)))
            return [xs[i] for i in _balanced(pool, [decode(x) for x in xs], n_samples, rng)]

    return BalancedSampling()


def run_nsga2(pool: CandidatePool, s: StrategySettings) -> dict[str, Any]:
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.mixed import MixedVariableDuplicateElimination, MixedVariableMating, MixedVariableSampling
    from pymoo.core.problem import Problem

    n_constr = pool.objectives.n_constr
    problem = Problem(vars=pool.space.variables(), n_obj=pool.objectives.n_obj, n_ieq_constr=n_constr)

    def decode(x):
        return pool.space.repair(pool.space.from_variables(x))

    if s.initial_design == "balanced":
        sampling = _balanced_sampling(pool, decode, s.feasible_init)
    else:
        sampling = _feasible_sampling(pool, decode) if s.feasible_init else MixedVariableSampling()
    algorithm = NSGA2(pop_size=s.population, sampling=sampling,
                      mating=MixedVariableMating(eliminate_duplicates=MixedVariableDuplicateElimination()),
                      eliminate_duplicates=MixedVariableDuplicateElimination())

    def objective(records):
        return pool.objectives.matrix(records), pool.objectives.constraints(records) if n_constr else None

    gens = _ask_tell(pool, s, algorithm, problem, decode, "nsga2", pool.budget, objective, cut_last=True)
    return {"generations": gens}


def _penalised(pool: CandidatePool, records, penalty: float) -> np.ndarray:
    # pymoo's MOEA/D takes no constraints: budgets become a penalty on every objective.
    F, cv = pool.matrix(records)
    return F + penalty * cv[:, None]


def _moead(pool: CandidatePool, s: StrategySettings, budget: int) -> int:
    """MOEA/D with Tchebycheff decomposition until ``budget`` candidates; returns its generations."""
    from pymoo.algorithms.moo.moead import ParallelMOEAD
    from pymoo.core.problem import Problem
    from pymoo.decomposition.tchebicheff import Tchebicheff
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling
    from pymoo.util.ref_dirs import get_reference_directions

    m = pool.objectives.n_obj
    ref_dirs = (get_reference_directions("uniform", 2, n_partitions=s.population - 1) if m == 2 else
                get_reference_directions("energy", m, s.population, seed=s.seed))
    coding = IntegerCoding(pool.space, s.resolution)
    problem = Problem(n_var=len(coding.xl), n_obj=m, xl=coding.xl, xu=coding.xu, vtype=int)
    algorithm = ParallelMOEAD(
        ref_dirs, n_neighbors=min(s.neighbours, len(ref_dirs)), prob_neighbor_mating=s.prob_neighbour_mating,
        decomposition=Tchebicheff(),  # 003's Eqs. 4-6 (pymoo's default would be PBI above two objectives)
        sampling=IntegerRandomSampling(), crossover=SBX(prob=1.0, eta=20, vtype=float, repair=RoundingRepair()),
        mutation=PM(eta=20, vtype=float, repair=RoundingRepair()))

    def objective(records):
        return _penalised(pool, records, s.penalty), None

    return _ask_tell(pool, s, algorithm, problem, coding.decode, "moead", budget, objective)


def run_moead(pool: CandidatePool, s: StrategySettings) -> dict[str, Any]:
    """MOEA/D alone on the whole budget (the hybrid paper's comparison without annealing)."""
    gens = _moead(pool, s, pool.budget)
    return {"generations": gens}


def run_moead_sa(pool: CandidatePool, s: StrategySettings) -> dict[str, Any]:
    """MOEA/D, then simulated annealing from the ``sa_solutions`` front points nearest the origin
    (seed 003's hybrid). Where the pool gives phase ``sa`` an evaluator of its own (a longer
    training), each start is scored again with it first, so that annealing compares like with like."""
    rescore = "sa" in pool.phase_evaluators
    sa_budget = s.sa_solutions * (s.sa_steps + int(rescore))
    gens = _moead(pool, s, max(pool.budget - sa_budget, s.population))
    starts = sa_starts(pool, [r for r in pool.records() if r["phase"] == "moead"], s)
    refined = []
    for i, start in enumerate(starts):
        refined.append(anneal(pool, s, start, gens + 1 + i))
        pool.end_generation(gens + 1 + i)
    # the final set: MOEA/D's population and the annealing's bests
    pool.set_population((pool.population or []) + [pool.seen[r["best"]] for r in refined])
    pool.finalists = [pool.seen[r["best"]] for r in refined]
    return {"generations": gens, "sa": refined}


def sa_starts(pool: CandidatePool, records: list, s: StrategySettings) -> list:
    """The ``sa_solutions`` MOEA/D candidates closest to the origin, front first.

    Points of MOEA/D's non-dominated set come first by distance; should the front (or a
    population converged onto a few genotypes) hold fewer, the nearest others fill in.
    """
    from mednas.search.pareto import non_dominated

    F = _penalised(pool, records, s.penalty)
    front = set(non_dominated(F).tolist())
    dist = np.linalg.norm(F, axis=1)
    order = sorted(range(len(records)), key=lambda i: (i not in front, dist[i], i))
    return [records[i] for i in order[:s.sa_solutions]]


def metropolis(delta: float, temperature: float, rng: random.Random) -> bool:
    """Metropolis rule: accept every move that lowers the energy, a worse one with p = exp(-delta / T)."""
    return delta < 0 or rng.random() < math.exp(-delta / max(temperature, 1e-12))


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether objective vector ``a`` (minimised) is no worse than ``b`` everywhere and better somewhere."""
    return bool(np.all(a <= b) and np.any(a < b))


def anneal(pool: CandidatePool, s: StrategySettings, start: Mapping[str, Any], generation: int) -> dict[str, Any]:
    """Simulated annealing from ``start``; returns the start, the best found and the moves accepted."""
    rng = random.Random(s.seed * 7_919 + generation)
    context = list(pool.seen.values())  # mstf normalisation: against every candidate so far

    def energies(records):
        F, cv = pool.objectives.matrix(records, context), pool.objectives.violation(records)
        return F, F.mean(axis=1) + s.penalty * cv

    if "sa" in pool.phase_evaluators:  # the start scored with the annealing's own budget
        (current,) = pool.evaluate([pool.genotype(start)], generation, "sa")
    else:
        current = dict(start)
    best, first_key = current, current["key"]
    temperature, accepted, improved = s.sa_t0, 0, 0
    for _ in range(s.sa_steps):
        g = pool.genotype(current)
        moves = _distinct_new(pool, 1, lambda: pool.space.mutate(g, rng, s.sa_mutation_rate, s.jitter), phase="sa")
        if not moves:
            break
        (candidate,) = pool.evaluate(moves, generation, "sa")
        F, e = energies([current, candidate, best])
        if metropolis(e[1] - e[0], temperature, rng):
            current, accepted = candidate, accepted + 1
        feasible = pool.objectives.violation([candidate])[0] <= 0
        if feasible and dominates(F[1], F[2]):
            best, improved = candidate, improved + 1
        temperature *= s.sa_cooling
    return {"start": start["key"], "start_rescored": first_key, "best": best["key"],
            "moves_accepted": accepted, "best_improved": improved}


def run_surrogate(pool: CandidatePool, s: StrategySettings) -> dict[str, Any]:
    """MoSegNAS's surrogate-assisted NSGA-II (:mod:`mednas.search.surrogate`)."""
    from mednas.search.surrogate import run_surrogate as surrogate

    return surrogate(pool, s)


STRATEGIES = {"ga": run_ga, "nsga2": run_nsga2, "moead": run_moead, "moead_sa": run_moead_sa, "random": run_random,
              "surrogate": run_surrogate}


def run_strategy(name: str, pool: CandidatePool, settings: StrategySettings) -> dict[str, Any]:
    """Run strategy ``name`` to the pool's budget; returns what the strategy reports about itself."""
    try:
        fn = STRATEGIES[name]
    except KeyError:
        raise ConfigError(f"unknown search strategy '{name}'; choose from {sorted(STRATEGIES)}") from None
    check_feasible_init(settings.feasible_init, [name])
    check_initial_design_strategies(settings.initial_design, [name])
    return fn(pool, settings)


INITIAL_DESIGN_STRATEGIES = ("ga", "nsga2")


def check_initial_design_strategies(design: str, strategies) -> None:
    """``search.initial_design: balanced`` shapes a first generation; random search has none, and the
    other strategies' initial draws are pymoo's or the surrogate's own."""
    other = sorted(set(strategies) - set(INITIAL_DESIGN_STRATEGIES))
    if check_initial_design(design) != "random" and other:
        raise ConfigError(f"search.initial_design {design} applies to {list(INITIAL_DESIGN_STRATEGIES)}; not to "
                          f"{other}")


def check_feasible_init(feasible_init: bool, strategies) -> None:
    """``search.feasible_init`` is implemented for the strategies whose initial draw this module makes."""
    other = sorted(set(strategies) - set(FEASIBLE_INIT_STRATEGIES))
    if feasible_init and other:
        raise ConfigError(f"search.feasible_init applies to {list(FEASIBLE_INIT_STRATEGIES)}; not to {other}")
