"""MD speed in one run, same model, same structures, same thread count: LAMMPS + pair_style
allegro with the native Rust engine (`backend native`), the same plugin on libtorch
(`backend torch`, TorchScript), and nequip's own Python/ASE molecular dynamics.

    .venv/bin/python bench/md_speed.py [--model M.nequip.pth] [--sizes 2 4 8 12] [--threads 1 2]
                                       [--runs native torch ase]

Cubic Na3SbS4 supercells NxNxN (16 N^3 atoms: 2 -> 128, 4 -> 1,024, 8 -> 8,192, 12 -> 27,648),
rattled, velocity Verlet, 1 fs, 300 K start; warm-up steps (TorchScript optimises during its
first calls) are excluded from every timing. Each run is its own process, so its peak RSS is
its own. Prints atom-steps/s, the ratios native/torch and native/ASE, peak RSS, and the
fraction of the FLOP budget the native engine reaches: dense-layer FLOPs per atom-step (forward
+ input-gradient backward, 4 x multiply-adds per edge x edges per atom; 97 % of the work) over
96 GFLOP/s per thread (one AVX2 core: 2 FMA units x 8 f32 lanes x 2 x 3 GHz).
Needs the test setup (torch and nequip): `bash scripts/setup.sh test`.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
VENV_BIN = Path(sys.executable).parent
PEAK_PER_THREAD = 96e9


def steps_for(n_atoms):
    return max(5, min(200, 40_000 // n_atoms))


def run_measured(cmd, cwd, env):
    """Runs cmd; returns (stdout, its own peak RSS in MB). GNU time measures the RSS: a forked
    child's own rusage would start from this (torch-importing) process's high-water mark."""
    rss_file = cwd / "rss.txt"
    with open(cwd / "stdout.txt", "w") as out, open(cwd / "stderr.txt", "w") as err:
        code = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", str(rss_file)] + [str(c) for c in cmd],
                               cwd=cwd, env=env, stdout=out, stderr=err)
    text = (cwd / "stdout.txt").read_text()
    if code != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{text[-2000:]}\n{(cwd / 'stderr.txt').read_text()[-2000:]}")
    return text, int(rss_file.read_text().split()[-1]) / 1024


SITE = VENV_BIN.parent / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
RAW_LMP = SITE / "lammps" / "lmp"  # the ELF binary (no Python launcher, no entry points)
# The native backend runs in the torch-free plugin (what `setup.sh run` installs), so that its
# memory is not inflated by a libtorch it never uses; torch runs in the libtorch-linked one.
PLUGINS = {"native": ROOT / "build" / "plugin-run" / "allegroplugin.so",
           "torch": SITE / "allegro_lammps" / "plugins" / "allegroplugin.so"}


def lammps_rate(model, backend, atoms, steps, threads, work):
    import structures

    plugin = PLUGINS[backend]
    if not plugin.exists():
        sys.exit(f"error: {plugin} missing: bash scripts/setup.sh test builds both plugins")
    structures.write_lammps_data(atoms, work / "data.lmp")
    (work / "in.lmp").write_text(f"""plugin load {plugin}
units metal
atom_style atomic
read_data data.lmp
pair_style allegro backend {backend} threads {threads}
pair_coeff * * {model} Na Sb W S
neighbor 1.0 bin
velocity all create 300 4928 mom yes rot yes
fix nve all nve
timestep 0.001
thermo 1000
run 3
run {steps}
""")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), LD_LIBRARY_PATH=str(VENV_BIN.parent / "lib"))
    out, rss = run_measured([str(RAW_LMP), "-in", "in.lmp", "-nocite", "-log", "none"], work, env)
    loop = re.findall(r"Loop time of ([\d.eE+-]+) on", out)[-1]
    return len(atoms) * steps / float(loop), rss


def ase_worker(model, size, steps, threads):
    """In its own process: nequip's ASE MD; prints atom-steps/s."""
    import numpy as np
    import torch
    from ase import units
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.md.verlet import VelocityVerlet
    from nequip.integrations.ase import NequIPCalculator

    import structures

    torch.set_num_threads(threads)
    atoms = structures.cubic((size, size, size))
    atoms.rattle(0.01, seed=size)
    atoms.calc = NequIPCalculator.from_compiled_model(str(model), device="cpu",
                                                      chemical_species_to_atom_type_map=True)
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(1))
    md = VelocityVerlet(atoms, timestep=1.0 * units.fs)
    md.run(3)  # warm-up
    t0 = time.perf_counter()
    md.run(steps)
    print(json.dumps({"rate": len(atoms) * steps / (time.perf_counter() - t0)}))


def ase_rate(model, size, steps, threads, work):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out, rss = run_measured([sys.executable, __file__, "--ase-worker", str(model), str(size), str(steps),
                             str(threads)], work, env)
    return json.loads(out.strip().splitlines()[-1])["rate"], rss


def flops_per_atom_step(model, atoms):
    """4 x (multiply-adds of every linear layer per edge) x (edges per atom inside the cutoffs)."""
    import numpy as np
    import torch
    from ase.neighborlist import neighbor_list

    m = torch.jit.load(str(model))
    macs = sum(p.shape[0] * p.shape[1] for n, p in m.named_parameters()
               if n.endswith(".weight") and p.dim() == 2 and "embed." not in n)
    with zipfile.ZipFile(model) as z:
        extra = {n.rsplit("/", 1)[-1]: z.read(n).decode() for n in z.namelist() if "/extra/" in n}
    names = extra["type_names"].split()
    r_max = float(extra["r_max"])
    cut = np.full((len(names), len(names)), r_max)
    if extra.get("per_edge_type_cutoff", "").strip():
        cut = np.array(extra["per_edge_type_cutoff"].split(), float).reshape(len(names), len(names))
    i, j, d = neighbor_list("ijd", atoms, r_max)
    t = np.array([names.index(s) for s in atoms.get_chemical_symbols()])
    edges = np.count_nonzero(d < cut[t[i], t[j]])
    return 4 * macs * edges / len(atoms)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--ase-worker":
        ase_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "models" / "nawsbs.nequip.pth"),
                   help="deployed TorchScript model (default: the shipped Na-W-Sb-S model)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default 1 2)")
    p.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8, 12],
                   help="supercell N of NxNxN (default 2 4 8 12: 128 to 27,648 atoms)")
    p.add_argument("--steps", type=int, default=0,
                   help="timed MD steps per run (default: 40,000 atom-steps, 5 to 200 steps)")
    p.add_argument("--runs", nargs="+", default=["native", "torch", "ase"], choices=["native", "torch", "ase"],
                   help="what to time (default all three)")
    args = p.parse_args()
    if max(args.threads) > (os.cpu_count() or 1):
        sys.exit(f"error: {max(args.threads)} threads but only {os.cpu_count()} cores")
    import structures

    model = Path(args.model).resolve()
    print(f"model {model}")
    head = (f"{'atoms':>7} {'thr':>3} {'steps':>5} {'native':>9} {'torch':>9} {'ASE':>9} {'nat/torch':>9} "
            f"{'nat/ASE':>8} {'RSS nat MB':>10} {'RSS torch MB':>12} {'GFLOP/s':>8} {'% budget':>8}")
    print("atom-steps/s per run; RSS = peak resident memory of the LAMMPS process")
    print(head, flush=True)
    for n in args.sizes:
        atoms = structures.cubic((n, n, n))
        atoms.rattle(0.01, seed=n)
        steps = args.steps or steps_for(len(atoms))
        flops = flops_per_atom_step(model, atoms)
        for threads in args.threads:
            rate, rss = {}, {}
            with tempfile.TemporaryDirectory() as tmp:
                for backend in ("native", "torch"):
                    if backend in args.runs:
                        work = Path(tmp) / backend
                        work.mkdir()
                        rate[backend], rss[backend] = lammps_rate(model, backend, atoms, steps, threads, work)
                if "ase" in args.runs:
                    work = Path(tmp) / "ase"
                    work.mkdir()
                    rate["ase"], rss["ase"] = ase_rate(model, n, steps, threads, work)
            f = lambda k: f"{rate[k]:9.0f}" if k in rate else f"{'-':>9}"  # noqa: E731
            ratio = lambda a, b, w: f"{rate[a] / rate[b]:{w}.2f}" if a in rate and b in rate else f"{'-':>{w}}"  # noqa: E731
            mem = lambda k, w: f"{rss[k]:{w}.0f}" if k in rss else f"{'-':>{w}}"  # noqa: E731
            gflops = rate.get("native", 0) * flops / 1e9
            print(f"{len(atoms):7d} {threads:3d} {steps:5d} {f('native')} {f('torch')} {f('ase')} "
                  f"{ratio('native', 'torch', 9)} {ratio('native', 'ase', 8)} {mem('native', 10)} {mem('torch', 12)} "
                  f"{gflops:8.1f} {100 * gflops * 1e9 / (PEAK_PER_THREAD * threads):7.0f}%", flush=True)
    print(f"dense-layer FLOPs per atom-step of this model on the largest cell: {flops / 1e6:.2f} M")


if __name__ == "__main__":
    main()
