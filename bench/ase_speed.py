#!/usr/bin/env python
"""ASE MD speed of allegro_rs.AllegroCalculator against nequip's ASE calculator (same model,
same cells, same threads), with the peak memory of each, in one run.

    .venv/bin/python bench/ase_speed.py [--model M] [--threads 1] [--sizes 128 1024 8192]

Each (calculator, size) runs in its own process, so the peak RSS is that calculator's alone
(Python, numpy and ASE included: the floor is ~100 MB). A step is one ASE VelocityVerlet step
at 300 K, cubic Na3SbS4 cells (2x2x2, 4x4x4, 8x8x8 conventional cells). "engine" times
Model.compute alone on the same cell, so the difference to "ours" is ASE's own overhead.
Needs the test environment (torch, nequip): scripts/setup.sh test.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPS = {128: (2, 2, 2), 1024: (4, 4, 4), 8192: (8, 8, 8)}


def cell(n):
    sys.path.insert(0, str(ROOT / "docs" / "examples"))
    from na3sbs4 import cubic_na3sbs4

    atoms = cubic_na3sbs4(reps=REPS[n])
    atoms.rattle(0.05, seed=1)
    return atoms


def worker(kind, n, model, threads, budget):
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import numpy as np
    from ase import units
    from ase.md.velocitydistribution import thermalize_momenta
    from ase.md.verlet import VelocityVerlet

    atoms = cell(n)
    if kind == "nequip":
        import warnings

        warnings.filterwarnings("ignore")
        import torch
        from nequip.integrations.ase import NequIPCalculator

        torch.set_num_threads(threads)
        atoms.calc = NequIPCalculator.from_compiled_model(
            model, device="cpu", chemical_species_to_atom_type_map=True)
    else:
        from allegro_rs import AllegroCalculator

        atoms.calc = AllegroCalculator(model, threads=threads)
    thermalize_momenta(atoms, 300.0, rng=np.random.default_rng(1))
    if kind == "engine":
        model_ = atoms.calc.model
        types = atoms.calc._types(atoms.numbers)
        step = lambda: model_.compute(atoms.positions, types, atoms.cell.array, [True] * 3)  # noqa: E731
    else:
        dyn = VelocityVerlet(atoms, 2.0 * units.fs)
        step = lambda: dyn.run(1)  # noqa: E731
    step(), step()  # warm-up (first calls allocate and, for torch, optimise the graph)
    steps, start = 0, time.perf_counter()
    while steps < 3 or (time.perf_counter() - start < budget and steps < 2000):
        step()
        steps += 1
    elapsed = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB (Linux: KB)
    print(json.dumps({"steps_per_s": steps / elapsed, "rss_mb": rss, "steps": steps}))


def run(kind, n, args):
    out = subprocess.run([sys.executable, __file__, "--worker", kind, str(n), "--model", args.model,
                          "--threads", str(args.threads), "--budget", str(args.budget)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{kind} at {n} atoms failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "models" / "nawsbs.nequip.pth"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 1024, 8192], choices=sorted(REPS))
    p.add_argument("--budget", type=float, default=8.0, help="seconds of timed steps per case")
    p.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args.worker[0], int(args.worker[1]), args.model, args.threads, args.budget)
    print(f"model {Path(args.model).name}, {args.threads} thread(s), ASE VelocityVerlet steps")
    print("| atoms | allegro_rs steps/s | engine alone steps/s | nequip steps/s | speed-up "
          "| allegro_rs peak RSS MB | nequip peak RSS MB | memory ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        print(f"  running {n} atoms ...", file=sys.stderr, flush=True)
        ours, engine, theirs = run("ours", n, args), run("engine", n, args), run("nequip", n, args)
        print(f"| {n} | {ours['steps_per_s']:.2f} | {engine['steps_per_s']:.2f} | "
              f"{theirs['steps_per_s']:.2f} | {ours['steps_per_s'] / theirs['steps_per_s']:.1f}x | "
              f"{ours['rss_mb']:.0f} | {theirs['rss_mb']:.0f} | "
              f"{ours['rss_mb'] / theirs['rss_mb']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
