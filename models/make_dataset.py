#!/usr/bin/env python
"""Seeded, deterministic training / validation / test data for the Na-W-Sb-S Allegro model.

Teacher: SevenNet-MF-0 (sevenn 0.13.0 wheel, weights inside the wheel), R2SCAN head
(`SevenNetCalculator("7net-mf-0", modal="R2SCAN")`).  Every frame is labelled with the teacher's
energy, forces and stress (frames are taken from MD driven by the teacher itself, so the label is
the MD step's own calculation, no extra calls).

Configurations: Na(3-x)W(x)Sb(1-x)S4 in the cubic (I-43m) and tetragonal (P-421c, teacher-relaxed,
see structures.py) phases; 2x2x2 (128 atoms), 2x2x1 / 1x1x2 (64 / 32 atoms) supercells;
0-25 % W with one Na vacancy per W, W clustered or spread; cells strained by up to +-3 %
(random symmetric strain); a 0.05-0.12 A rattle; Langevin NVT MD at 200-800 K (2 fs) sampled
sparsely after a short equilibration; 800 K "hop" trajectories of doped cells for Na hops.

Split: the TRAIN+VAL pool comes from trajectories with seeds 1000+i; a random 90/10 split
(seed 0) gives train/val.  The TEST set comes from independent trajectories with seeds 9000+i
(different W/vacancy arrangements, strains, rattles and velocities) never used in training.

usage: make_dataset.py OUTDIR              (stage 1: OUTDIR/{train,val,test}.xyz.gz + dataset_info.json)
       make_dataset.py OUTDIR --expanded   (stage 2: OUTDIR/{train,val}_expanded.xyz.gz, see EXPANDED)
"""
import gzip, io, json, os, sys, time
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ase import units
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
from structures import cubic_cell, tetragonal_cell, dope, teacher

# (phase, supercell, n_W, clustered, T[K], n_frames, stride, n_equil)
# n_W is per supercell (2x2x2 has 16 Sb sites: 1 -> 6.25 %, 2 -> 12.5 %, 4 -> 25 %).
TRAIN = [
    ("cub", (2, 2, 2), 0, False, 300, 7, 8, 16),
    ("cub", (2, 2, 2), 0, False, 600, 7, 8, 16),
    ("tet", (2, 2, 2), 0, False, 200, 7, 8, 16),
    ("tet", (2, 2, 2), 0, False, 450, 7, 8, 16),
    ("cub", (2, 2, 2), 1, False, 500, 7, 8, 16),
    ("tet", (2, 2, 2), 1, False, 300, 7, 8, 16),
    ("cub", (2, 2, 2), 2, False, 700, 7, 8, 16),
    ("cub", (2, 2, 2), 2, True, 400, 7, 8, 16),
    ("tet", (2, 2, 2), 2, True, 600, 7, 8, 16),
    ("cub", (2, 2, 2), 4, False, 600, 7, 8, 16),
    ("cub", (2, 2, 2), 4, True, 300, 7, 8, 16),
    ("tet", (2, 2, 2), 4, False, 500, 7, 8, 16),
    ("cub", (2, 2, 2), 1, True, 700, 7, 8, 16),
    ("tet", (2, 2, 2), 0, False, 650, 7, 8, 16),
    ("cub", (2, 2, 2), 3, False, 450, 7, 8, 16),
    ("tet", (2, 2, 2), 3, True, 250, 7, 8, 16),
    # smaller cells: cheap variety (different periodic images / strain states)
    ("cub", (1, 1, 2), 0, False, 300, 8, 8, 12),
    ("tet", (1, 1, 2), 0, False, 500, 8, 8, 12),
    ("cub", (1, 1, 2), 1, False, 600, 8, 8, 12),
    ("tet", (2, 2, 1), 1, True, 400, 8, 8, 12),
    ("cub", (2, 2, 1), 2, False, 700, 8, 8, 12),
    ("tet", (2, 2, 1), 0, False, 300, 8, 8, 12),
    # Na-hop trajectories (hot, vacancy-rich), sampled more sparsely
    ("cub", (2, 2, 2), 2, False, 800, 6, 20, 20),
    ("cub", (2, 2, 2), 4, True, 800, 6, 20, 20),
]
# Stage-2 (active-learning) augmentation, added after the stage-1 model expanded without bound in
# 300 K NPT (its energy dropped below the teacher's for cells expanded by > 3 % with thermal
# disorder).  Same spec plus a 9th field: isotropic scale of the cell (on top of the random strain).
EXPANDED = [
    ("tet", (2, 2, 2), 0, False, 300, 5, 8, 16, 1.04),
    ("cub", (2, 2, 2), 0, False, 500, 5, 8, 16, 1.06),
    ("tet", (2, 2, 2), 1, False, 400, 5, 8, 16, 1.08),
    ("cub", (2, 2, 2), 2, True, 700, 5, 8, 16, 1.05),
    ("tet", (2, 2, 2), 2, False, 600, 5, 8, 16, 1.10),
    ("cub", (2, 2, 2), 4, False, 300, 5, 8, 16, 1.07),
    ("cub", (2, 2, 2), 1, False, 650, 5, 8, 16, 0.97),
    ("tet", (2, 2, 2), 0, False, 700, 5, 8, 16, 1.03),
]
TEST = [
    ("cub", (2, 2, 2), 0, False, 300, 4, 10, 16),
    ("tet", (2, 2, 2), 0, False, 300, 4, 10, 16),
    ("cub", (2, 2, 2), 2, False, 600, 4, 10, 16),
    ("tet", (2, 2, 2), 1, True, 450, 4, 10, 16),
    ("cub", (2, 2, 2), 3, True, 700, 4, 10, 16),
]
DT_FS = 2.0
MAX_STRAIN = 0.03


def dmin(at):
    """Smallest pair distance (minimum image), A."""
    return float(at.get_all_distances(mic=True)[np.triu_indices(len(at), 1)].min())


def snapshot(at, **info):
    """Copy of `at` with its calculator's energy, forces and stress frozen as labels, `info` and
    the smallest pair distance (info["dmin"])."""
    f = at.copy()
    f.calc = SinglePointCalculator(f, energy=at.get_potential_energy(), forces=at.get_forces(),
                                   stress=at.get_stress(voigt=False))
    f.info.update(info)
    f.info["dmin"] = dmin(f)
    return f


def build(spec, rng):
    phase, rep, n_w, clustered, T = spec[:5]
    base = cubic_cell() if phase == "cub" else tetragonal_cell()
    if len(spec) > 8:
        base.set_cell(base.cell[:] * spec[8], scale_atoms=True)
    at = base.repeat(rep)
    at = dope(at, n_w, rng, clustered=clustered)
    eps = rng.uniform(-MAX_STRAIN, MAX_STRAIN, (3, 3))
    eps = 0.5 * (eps + eps.T)
    eps[np.triu_indices(3, 1)] *= 0.3  # shear smaller than normal strain
    eps[np.tril_indices(3, -1)] = eps.T[np.tril_indices(3, -1)]
    at.set_cell(at.cell[:] @ (np.eye(3) + eps), scale_atoms=True)
    at.rattle(stdev=float(rng.uniform(0.05, 0.12)), seed=int(rng.integers(2**31)))
    return at, eps


def run_traj(spec, seed, calc, tag):
    rng = np.random.default_rng(seed)
    at, eps = build(spec, rng)
    phase, rep, n_w, clustered, T, n_frames, stride, n_equil = spec[:8]
    at.calc = calc
    MaxwellBoltzmannDistribution(at, temperature_K=T, rng=rng)
    Stationary(at)
    md = Langevin(at, DT_FS * units.fs, temperature_K=T, friction=0.02, rng=rng)
    frames = []

    def grab():
        frames.append(snapshot(at, config=tag, phase=phase, supercell="x".join(map(str, rep)),
                               n_W=n_w, W_clustered=bool(clustered), T_K=T, seed=seed,
                               strain_max=float(np.abs(eps).max()),
                               volume_scale=float(spec[8]) if len(spec) > 8 else 1.0))

    md.run(n_equil)
    for _ in range(n_frames):
        md.run(stride)
        grab()
    return frames


def strip(frames):
    out = []
    for f in frames:
        g = f.copy()
        g.calc = f.calc
        if "momenta" in g.arrays:
            del g.arrays["momenta"]
        out.append(g)
    return out


def write_gz(path, frames):
    buf = io.StringIO()
    write(buf, strip(frames), format="extxyz")
    # mtime=0 -> byte-identical gzip for identical content
    with open(path, "wb") as fh:
        with gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
            gz.write(buf.getvalue().encode())


def concat_gz(outdir, name, parts):
    """OUTDIR/name = the gzip files `parts` (in OUTDIR) back to back: one valid gzip stream of
    several members, which is how one nequip training file is made from several sets."""
    with open(os.path.join(outdir, name), "wb") as fo:
        for part in parts:
            with open(os.path.join(outdir, part), "rb") as fi:
                fo.write(fi.read())


def main_expanded(outdir):
    """Stage 2: EXPANDED trajectories (seeds 2000+i) -> {train,val}_expanded.xyz.gz (90/10, seed 1)."""
    calc = teacher()
    pool = []
    for i, spec in enumerate(EXPANDED):
        ts = time.time()
        fr = run_traj(spec, 2000 + i, calc, f"expanded{i:02d}")
        pool += fr
        print(f"[expanded {i:2d}] {spec} -> {len(fr)} frames, {len(fr[0])} atoms, "
              f"dmin {min(f.info['dmin'] for f in fr):.2f} A, {time.time() - ts:.0f} s", flush=True)
    idx = np.random.default_rng(1).permutation(len(pool))
    n_val = max(1, int(round(0.1 * len(pool))))
    write_gz(os.path.join(outdir, "val_expanded.xyz.gz"), [pool[j] for j in sorted(idx[:n_val])])
    write_gz(os.path.join(outdir, "train_expanded.xyz.gz"), [pool[j] for j in sorted(idx[n_val:])])
    print(f"expanded: {len(pool) - n_val} train, {n_val} val frames")
    # nequip-train takes ONE training file: stage-2 files = stage-1 + expanded
    for name in ("train", "val"):
        concat_gz(outdir, f"{name}_all.xyz.gz", [f"{name}.xyz.gz", f"{name}_expanded.xyz.gz"])


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    calc = teacher()
    t0 = time.time()
    pool, test = [], []
    for i, spec in enumerate(TRAIN):
        ts = time.time()
        fr = run_traj(spec, 1000 + i, calc, f"train{i:02d}")
        pool += fr
        print(f"[train {i:2d}] {spec} -> {len(fr)} frames, {len(fr[0])} atoms, "
              f"dmin {min(f.info['dmin'] for f in fr):.2f} A, {time.time() - ts:.0f} s", flush=True)
    for i, spec in enumerate(TEST):
        ts = time.time()
        fr = run_traj(spec, 9000 + i, calc, f"test{i:02d}")
        test += fr
        print(f"[test  {i:2d}] {spec} -> {len(fr)} frames, {time.time() - ts:.0f} s", flush=True)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(pool))
    n_val = max(1, int(round(0.1 * len(pool))))
    val = [pool[j] for j in sorted(idx[:n_val])]
    train = [pool[j] for j in sorted(idx[n_val:])]
    for name, fr in (("train", train), ("val", val), ("test", test)):
        write_gz(os.path.join(outdir, f"{name}.xyz.gz"), fr)

    def summary(fr):
        return dict(frames=len(fr), atoms=int(sum(len(f) for f in fr)),
                    temperatures_K=sorted({int(f.info["T_K"]) for f in fr}),
                    n_W=sorted({int(f.info["n_W"]) for f in fr}),
                    phases=sorted({f.info["phase"] for f in fr}),
                    min_pair_distance_A=round(min(f.info["dmin"] for f in fr), 3))
    info = dict(teacher="SevenNet-MF-0 (sevenn 0.13.0), modal R2SCAN",
                md=f"Langevin NVT, dt {DT_FS} fs, friction 0.02 ASE-units (about 2 /ps)",
                train=summary(train), val=summary(val), test=summary(test),
                wall_s=round(time.time() - t0))
    json.dump(info, open(os.path.join(outdir, "dataset_info.json"), "w"), indent=1)
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    if "--expanded" in sys.argv:
        main_expanded(out)
    else:
        main(out)
