"""MD speed in one run, same model, same structures, same thread count: LAMMPS + pair_style
allegro with the native Rust engine (`backend native`, each instruction set it has), the same
engine of an earlier revision (`--baseline REV`), the plugin on libtorch (`backend torch`,
TorchScript), and nequip's own Python/ASE molecular dynamics.

    .venv/bin/python bench/md_speed.py [--model M.nequip.pth] [--sizes 2 4 8 12] [--threads 1 2]
                                       [--runs native torch ase] [--isa avx512 avx2 baseline]
                                       [--baseline REV] [--mpi]

Cubic Na3SbS4 supercells NxNxN (16 N^3 atoms: 2 -> 128, 4 -> 1,024, 8 -> 8,192, 12 -> 27,648),
rattled, velocity Verlet, 1 fs, 300 K start; warm-up steps (TorchScript optimises during its
first calls) are excluded from every timing. Each run is its own process, so its peak RSS is
its own. Prints atom-steps/s, ratios, peak RSS, and the fraction of this machine's measured peak
the native engine reaches: the peak comes from `examples/peak_flops.rs` (a register-resident
FMA loop per instruction set, run first), the work is the dense-layer FLOPs per atom-step
(forward + input-gradient backward: 4 x multiply-adds of every linear layer per edge x edges per
atom; 97 % of the work). `--baseline REV` builds that revision's torch-free plugin in
build/baseline-REV (its own cargo target folder) and times it in the same run; `--mpi` adds
2 MPI ranks x 1 thread beside 1 rank x 2 threads.
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


def lammps_rate(model, backend, atoms, steps, threads, work, plugin=None, isa=None, ranks=1):
    import structures

    plugin = plugin or PLUGINS[backend]
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
    env.pop("ALLEGRO_ISA", None)
    if isa:
        env["ALLEGRO_ISA"] = isa
    cmd = [str(RAW_LMP), "-in", "in.lmp", "-nocite", "-log", "none"]
    if ranks > 1:
        cmd = [str(VENV_BIN / "mpirun"), "-np", str(ranks)] + cmd
    out, rss = run_measured(cmd, work, env)
    loop = re.findall(r"Loop time of ([\d.eE+-]+) on", out)[-1]
    return len(atoms) * steps / float(loop), rss


def measured_peak():
    """GFLOP/s of one core per (isa, dtype), from examples/peak_flops.rs."""
    subprocess.check_call(["cargo", "build", "--quiet", "--release", "--example", "peak_flops"], cwd=ROOT)
    out = subprocess.check_output([str(ROOT / "target" / "release" / "examples" / "peak_flops"), "--json"])
    return {(r["isa"], r["dtype"]): r["gflops"] for r in json.loads(out)}


def baseline_plugin(rev):
    """The torch-free plugin of revision `rev`, built in build/baseline-REV (cached by commit)."""
    commit = subprocess.check_output(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT,
                                     text=True).strip()
    home = ROOT / "build" / f"baseline-{commit[:12]}"
    plugin = home / "plugin" / "allegroplugin.so"
    if plugin.exists():
        return plugin, commit
    src = home / "src"
    if not src.exists():
        home.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
        src.mkdir()
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    print(f"building the baseline engine {commit[:12]} in {home} (first time: ~2 min)", flush=True)
    env = dict(os.environ, CARGO_TARGET_DIR=str(home / "target"))
    subprocess.check_call(["cargo", "build", "--quiet", "--release", "--lib", "-p", "allegro-rs"], cwd=src, env=env)
    lib = home / "target" / "release" / "liballegro.a"
    subprocess.check_call([str(VENV_BIN / "cmake"), "-S", str(src / "cpp"), "-B", str(home / "plugin"), f"-DALLEGRO_PYTHON={sys.executable}",
                           "-DALLEGRO_WITH_TORCH=OFF", f"-DALLEGRO_LIBRARY={lib}"], stdout=subprocess.DEVNULL)
    subprocess.check_call([str(VENV_BIN / "cmake"), "--build", str(home / "plugin"), "-j", "2"], stdout=subprocess.DEVNULL)
    return plugin, commit


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
    p.add_argument("--isa", nargs="+", default=None,
                   help="instruction sets of the native engine to time, best first (default: every one this "
                        "CPU has among avx512 avx2); the first is the main native column")
    p.add_argument("--baseline", metavar="REV", help="also time the native engine of git revision REV")
    p.add_argument("--mpi", action="store_true", help="also time MPI ranks x 1 thread for every thread count > 1")
    args = p.parse_args()
    if max(args.threads) > (os.cpu_count() or 1):
        sys.exit(f"error: {max(args.threads)} threads but only {os.cpu_count()} cores")
    import structures

    model = Path(args.model).resolve()
    with zipfile.ZipFile(model) as z:
        dtype = next(z.read(n).decode().strip() for n in z.namelist() if n.endswith("/extra/model_dtype"))
    dtype = {"float32": "f32", "float64": "f64"}[dtype]
    peak = measured_peak()
    isas = args.isa or [i for i in ("avx512", "avx2") if (i, dtype) in peak] or ["baseline"]
    print(f"model {model} ({dtype})")
    print("measured peak of one core (GFLOP/s): " + ", ".join(f"{i} {t} {g:.1f}" for (i, t), g in peak.items()))
    base = None
    if args.baseline:
        base, commit = baseline_plugin(args.baseline)
        print(f"baseline: the native engine of {commit[:12]} ({args.baseline})")
    cols = [f"nat {isas[0]}"] + [f"nat {i}" for i in isas[1:]] + (["baseline"] if base else []) + \
           (["torch"] if "torch" in args.runs else []) + (["ASE"] if "ase" in args.runs else [])
    print("atom-steps/s per run; x base = ratio to the baseline engine; RSS = peak resident memory (MB) of the "
          "LAMMPS process; % peak = GFLOP/s of the first native column over threads x the measured peak of its ISA")
    head = f"{'atoms':>7} {'thr':>3} {'steps':>5} " + " ".join(f"{c:>11}" for c in cols)
    if base:
        head += " " + " ".join(f"{'x base ' + i:>13}" for i in isas)
    head += f" {'nat/torch':>9} {'nat/ASE':>8} {'RSS nat':>8} {'RSS base':>8} {'GFLOP/s':>8} {'% peak':>7}"
    print(head, flush=True)
    for n in args.sizes:
        atoms = structures.cubic((n, n, n))
        atoms.rattle(0.01, seed=n)
        steps = args.steps or steps_for(len(atoms))
        flops = flops_per_atom_step(model, atoms)
        for threads in args.threads:
            rate, rss = {}, {}
            with tempfile.TemporaryDirectory() as tmp:
                def timed(key, *a, **kw):
                    work = Path(tmp) / key.replace(" ", "_")
                    work.mkdir()
                    rate[key], rss[key] = lammps_rate(model, *a, atoms, steps, threads, work, **kw)
                if "native" in args.runs:
                    for i in isas:
                        timed(f"nat {i}", "native", isa=i)
                    if base:
                        timed("baseline", "native", plugin=base)
                if "torch" in args.runs:
                    timed("torch", "torch")
                if "ase" in args.runs:
                    work = Path(tmp) / "ase"
                    work.mkdir()
                    rate["ASE"], rss["ASE"] = ase_rate(model, n, steps, threads, work)
                if args.mpi and threads > 1 and "native" in args.runs:
                    work = Path(tmp) / "mpi"
                    work.mkdir()
                    rate["mpi"], rss["mpi"] = lammps_rate(model, "native", atoms, steps, 1, work, ranks=threads)
            f = lambda k: f"{rate[k]:11.0f}" if k in rate else f"{'-':>11}"  # noqa: E731
            ratio = lambda a, b, w: f"{rate[a] / rate[b]:{w}.2f}" if a in rate and b in rate else f"{'-':>{w}}"  # noqa: E731
            mem = lambda k, w: f"{rss[k]:{w}.0f}" if k in rss else f"{'-':>{w}}"  # noqa: E731
            main_col = f"nat {isas[0]}"
            gflops = rate.get(main_col, 0) * flops / 1e9
            top = peak.get((isas[0], dtype))
            line = f"{len(atoms):7d} {threads:3d} {steps:5d} " + " ".join(f(c) for c in cols)
            if base:
                line += " " + " ".join(ratio(f"nat {i}", "baseline", 13) for i in isas)
            line += (f" {ratio(main_col, 'torch', 9)} {ratio(main_col, 'ASE', 8)} {mem(main_col, 8)} "
                     f"{mem('baseline', 8)} {gflops:8.1f} "
                     + (f"{100 * gflops / (top * threads):6.0f}%" if top else f"{'-':>7}"))
            print(line, flush=True)
            if "mpi" in rate:
                print(f"{'':>7} {threads:3d} ranks x 1 thread (MPI): {rate['mpi']:.0f} atom-steps/s = "
                      f"{rate['mpi'] / rate[main_col]:.2f} x 1 rank x {threads} threads", flush=True)
    print(f"dense-layer FLOPs per atom-step of this model on the largest cell: {flops / 1e6:.2f} M")


if __name__ == "__main__":
    main()
