"""Diffusion error bars on real MD: six independent LAMMPS runs of one state (shipped model, same
cell, velocity seeds differ) must scatter as much as allegro-diffusion says each one does.

The test: with D_i and std s_i from each run alone and their weighted mean D_w,
chi^2 = sum_i (D_i - D_w)^2 / s_i^2 follows chi^2 with 5 degrees of freedom when the stds are right.
It must lie between that distribution's 0.5 % and 99.5 % quantiles: too small means the errors
are inflated, too large means they are too small (before this test's issue the stds were ~10x too
small: chi^2 in the hundreds). The pooled run of all six must give the weighted mean within its
own error, and an error consistent with the single runs'.

State: W-doped Na(3-x)W(x)Sb(1-x)S4 with x = 0.25 (2x2x2 cubic cells, 124 atoms, 44 Na), NVT at
750 K, a = 7.25 A, 20 ps each at 2 fs: tens of Na hops per run, so D is significant in each run.
Six runs cost about 5 minutes on two cores.

Measured here on 17 runs of this state (seeds 1-18, one blew up): chi^2 / dof = 1.44 for the
single-run stds (2.8 before the design effect), the rms reported std 4.4e-6 against a seed-to-
seed spread of 4.3e-6 cm^2/s. The excess is in runs whose hop rate stayed low throughout (D
half the mean with a small error), which one run cannot see; pooled runs are widened by their
spread."""
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import LMP, ROOT

MODEL = ROOT / "models" / "nawsbs.nequip.pth"
BIN = ROOT / "target" / "release"
RUNS, TEMPERATURE, STEPS, DUMP_EVERY, DT_PS = 6, 750.0, 10000, 50, 0.002
# chi^2 with 5 degrees of freedom: 0.5 % and 99.5 % quantiles (scipy.stats.chi2.ppf)
CHI2_5_LOW, CHI2_5_HIGH = 0.4117, 16.750

SCRIPT = """units metal
atom_style atomic
boundary p p p
read_data ../cell.data
pair_style allegro threads 1
pair_coeff * * {model} Na Sb W S
neighbor 1.0 bin
velocity all create {temp} {seed} mom yes rot yes dist gaussian
timestep {dt}
fix nvt all nvt temp {temp} {temp} 0.2
thermo 1000
dump d all custom {every} traj.bin id type xu yu zu
run {steps}
"""


def run_one(workdir, seed):
    """The dump of one run, or None when the run blew up (the shipped model is not stable at
    750 K in every run: 1 of 18 seeds of 20 ps here lost atoms after ~9 ps)."""
    run = workdir / f"seed{seed}"
    run.mkdir()
    (run / "in.lmp").write_text(SCRIPT.format(model=MODEL, temp=TEMPERATURE, seed=seed, dt=DT_PS,
                                              every=DUMP_EVERY, steps=STEPS))
    proc = subprocess.run([str(LMP), "-in", "in.lmp", "-log", "log.lammps", "-nocite", "-screen", "none"],
                          cwd=run, capture_output=True, text=True, timeout=1800,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    log = (run / "log.lammps").read_text()
    if proc.returncode != 0 and ("Lost atoms" in log or "Out of range atoms" in log):
        print(f"\nseed {seed}: the model blew up (lost atoms); replaced by another seed")
        return None
    assert proc.returncode == 0, log[-2000:] + proc.stderr[-2000:]
    return run / "traj.bin"


def diffusion(workdir, dumps, name):
    out = workdir / f"{name}.json"
    subprocess.run([str(BIN / "allegro-diffusion"), "--timestep", str(DT_PS), "--species", "1",
                    "--temperature", str(TEMPERATURE), "--json", str(out), *map(str, dumps)],
                   check=True, capture_output=True, text=True)
    return json.loads(out.read_text())["D"]  # tracer D over x, y and z


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("diffusion_md")
    subprocess.run([str(BIN / "allegro-build"), "--variant", "w-vac", "--x", "0.25", "--a", "7.25",
                    "--reps", "2", "2", "2", "--seed", "3", "--data", str(workdir / "cell.data")],
                   check=True, capture_output=True)
    workers = max(1, min(2, os.cpu_count() or 1))  # one LAMMPS per core, never more
    dumps, next_seed = [], 1
    with ThreadPoolExecutor(workers) as pool:
        # seeds in order; a run that blows up is replaced by the next seed (at most 3 times)
        while len(dumps) < RUNS and next_seed <= RUNS + 3:
            seeds = range(next_seed, next_seed + RUNS - len(dumps))
            next_seed += len(seeds)
            dumps += [d for d in pool.map(lambda s: run_one(workdir, s), seeds) if d is not None]
    assert len(dumps) == RUNS, f"only {len(dumps)} of {RUNS} runs finished without blowing up"
    return workdir, dumps


def chi2_of(values, stds):
    w = 1.0 / stds**2
    mean = np.sum(w * values) / np.sum(w)
    return float(np.sum((values - mean) ** 2 * w)), float(mean), float(np.sqrt(1.0 / np.sum(w)))


def test_spread_of_six_runs_matches_reported_std(runs):
    workdir, dumps = runs
    single = [diffusion(workdir, [d], f"run{i}") for i, d in enumerate(dumps)]
    d = np.array([s["value"] for s in single])
    s = np.array([s["std"] for s in single])
    chi2, mean, mean_std = chi2_of(d, s)
    report = ", ".join(f"{v:.3g} +- {e:.2g}" for v, e in zip(d, s))
    print(f"\nD per run (cm^2/s): {report}\nchi^2 = {chi2:.2f} (5 dof), weighted mean {mean:.3g} +- {mean_std:.2g}")
    assert np.all(s > 0)
    assert CHI2_5_LOW < chi2 < CHI2_5_HIGH, f"spread of D disagrees with the reported stds: chi^2 = {chi2:.2f}; {report}"

    pooled = diffusion(workdir, dumps, "pooled")
    p, ps = pooled["value"], pooled["std"]
    print(f"pooled: {p:.3g} +- {ps:.2g}")
    assert pooled["significant"]
    # the pooled estimate is the same data: it must agree with the weighted mean of the runs
    assert abs(p - mean) < 2.0 * max(ps, mean_std)
    # and its error with the runs' combined error (pooling widens by the runs' scatter when chi^2 > 1)
    assert 0.5 * mean_std < ps < 3.0 * mean_std
