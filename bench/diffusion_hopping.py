"""Accuracy, calibration and speed of allegro-diffusion vs kinisi 2.1.0 on rare hops with vibrations:
many seeds of one synthetic state with a known D, both tools on the same files, in one run.

    .venv/bin/python bench/diffusion_hopping.py [--seeds 30] [--hops-per-ion 0.5] [--keep]

Needs kinisi + MDAnalysis in .venv (bench/setup_kinisi.sh) and the release binary.

Trajectory (one per seed): 48 "Na" (type 1) hop independently between sites of a cubic lattice
(3.6 A apart) as a Poisson process, --hops-per-ion hops per ion over the run on average, each on top
of an Ornstein-Uhlenbeck vibration about its site (0.35 A rms per axis, 0.2 ps correlation time);
16 framework atoms (type 2) vibrate about fixed sites (0.1 A). 200 frames 0.1 ps apart (20 ps),
text `dump custom id type x y z ix iy iz`. The true tracer D is hops x (3.6 A)^2 / (6 x 20 ps):
5.4e-6 cm^2/s for 0.5 hops per ion. This is the case where error bars built for Gaussian walks fail:
few large displacements on top of a vibrational plateau.

Each tool runs once per seed as its own process (wall time includes start-up and, for kinisi, its
imports), with the fit starting where allegro-diffusion's does (a tenth of the run); everything else
at each tool's defaults. The table gives, over the seeds: mean D / D_true with its standard error
(bias), seed-to-seed spread of D relative to D_true, the mean reported std relative to D_true, the
fraction of seeds whose |D - D_true| is within 1 and 3 reported std (68 % and 99.7 % when the
error bars are right), the worst |D - D_true| / std, and the mean wall time per trajectory.
"""
import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from diffusion_speed import BIN, MD_DT_PS, DumpWriter, require_tools, run_measured, thread_env  # noqa: E402

ATOMS, FRAMEWORK, SITES, HOP = 48, 16, 4, 3.6
VIB_RMS, VIB_TAU, FRAMEWORK_RMS = 0.35, 0.2, 0.1
FRAME_PS = 0.1
STEP_SKIP = round(FRAME_PS / MD_DT_PS)


def generate(path, frames, hops_per_ion, rng):
    """Writes one trajectory; returns the true tracer D in cm^2/s."""
    p = hops_per_ion / (frames - 1) / 3.0  # hop probability per frame and axis
    box = np.full(3, SITES * HOP)
    site = np.floor(rng.uniform(size=(ATOMS, 3)) * SITES) * HOP
    phi = math.exp(-FRAME_PS / VIB_TAU)
    vib = VIB_RMS * rng.normal(size=(ATOMS, 3))
    fw_site = rng.uniform(size=(FRAMEWORK, 3)) * box
    pos = np.empty((frames, ATOMS + FRAMEWORK, 3))
    for f in range(frames):
        if f:
            u = rng.uniform(size=(ATOMS, 3))
            site += np.where(u < p / 2, HOP, np.where(u < p, -HOP, 0.0))
            vib = phi * vib + VIB_RMS * math.sqrt(1 - phi * phi) * rng.normal(size=(ATOMS, 3))
        pos[f, :ATOMS] = site + vib
        pos[f, ATOMS:] = fw_site + FRAMEWORK_RMS * rng.normal(size=(FRAMEWORK, 3))
    types = np.array([1] * ATOMS + [2] * FRAMEWORK)
    w = DumpWriter(path, types, box)
    w.write([f * STEP_SKIP for f in range(frames)], pos)
    w.close()
    d_axis = p * HOP**2 / (2 * FRAME_PS)  # A^2/ps
    return d_axis * 1e-4


def summarise(name, d, s, d_true, walls):
    z = (d - d_true) / s
    n = len(d)
    return dict(tool=name, n=n, bias=d.mean() / d_true, bias_se=d.std(ddof=1) / math.sqrt(n) / d_true,
                spread=d.std(ddof=1) / d_true, reported=s.mean() / d_true,
                within1=np.mean(np.abs(z) <= 1), within3=np.mean(np.abs(z) <= 3),
                worst=np.abs(z).max(), negative=int(np.sum(d < 0)), wall=np.mean(walls))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--hops-per-ion", type=float, default=0.5)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2026, help="seed of the first trajectory")
    ap.add_argument("--threads", type=int, default=1, help="threads for each tool")
    ap.add_argument("--timeout", type=float, default=600, help="per-run time limit, s")
    ap.add_argument("--keep", action="store_true", help="keep the dumps and outputs")
    args = ap.parse_args()
    if args.seeds < 2:
        sys.exit("--seeds must be at least 2")
    require_tools()

    work = Path(tempfile.mkdtemp(prefix="diffusion_hopping_", dir="/tmp"))
    env = thread_env(args.threads)
    worker = Path(__file__).resolve().parent / "diffusion_speed.py"
    res = {"allegro-diffusion": ([], [], []), "kinisi 2.1.0": ([], [], [])}
    t_start = time.perf_counter()
    try:
        for k in range(args.seeds):
            seed = args.seed + k
            dump = work / f"hop{seed}.lammpsdump"
            d_true = generate(dump, args.frames, args.hops_per_ion, np.random.default_rng(seed))
            out = work / f"allegro{seed}.json"
            m = run_measured([str(BIN), "--timestep", str(MD_DT_PS), "--species", "1", "--json", str(out),
                              str(dump)], env, work / f"allegro{seed}.log", args.timeout, 8192)
            if m["rc"] or m["killed"]:
                sys.exit(f"allegro-diffusion failed on seed {seed}: {(work / f'allegro{seed}.log').read_text()[-2000:]}")
            ours = json.loads(out.read_text())
            for lst, v in zip(res["allegro-diffusion"], (ours["D"]["value"], ours["D"]["std"], m["wall_s"])):
                lst.append(v)
            kout = work / f"kinisi{seed}.json"
            m = run_measured([sys.executable, str(worker), "_kinisi_worker", str(dump), "--start-ps",
                              repr(ours["fit_range_ps"][0]), "--step-skip", str(STEP_SKIP), "--seed", str(seed),
                              "--out", str(kout)], env, work / f"kinisi{seed}.log", args.timeout, 8192)
            if m["rc"] or m["killed"]:
                sys.exit(f"kinisi failed on seed {seed}: {m['killed'] or ''}"
                         f"{(work / f'kinisi{seed}.log').read_text(errors='replace')[-2000:]}")
            theirs = json.loads(kout.read_text())
            for lst, v in zip(res["kinisi 2.1.0"], (theirs["D"], theirs["D_std"], m["wall_s"])):
                lst.append(v)
            a, kd = res["allegro-diffusion"], res["kinisi 2.1.0"]
            print(f"seed {seed}: D_true {d_true:.3e}; allegro-diffusion {a[0][-1]:.3e} ± {a[1][-1]:.2e} "
                  f"({a[2][-1]:.1f} s); kinisi {kd[0][-1]:.3e} ± {kd[1][-1]:.2e} ({kd[2][-1]:.1f} s)", flush=True)

        rows = [summarise(name, np.array(d), np.array(s), d_true, w) for name, (d, s, w) in res.items()]
        print(f"\n{args.seeds} seeds, {ATOMS} hopping ions, {args.hops_per_ion:g} hops per ion in "
              f"{(args.frames - 1) * FRAME_PS:g} ps (D_true = {d_true:.3e} cm^2/s), vibration {VIB_RMS} A rms; "
              f"{args.threads} thread(s) per tool")
        hdr = (f"{'tool':<18} | {'mean D / D_true':>16} | {'spread':>6} | {'reported std':>12} | "
               f"{'within 1 std':>12} | {'within 3 std':>12} | {'worst':>6} | {'D < 0':>5} | {'wall per run (s)':>16}")
        print(hdr)
        print("-" * len(hdr))
        for r in rows:
            print(f"{r['tool']:<18} | {r['bias']:>8.3f} ± {r['bias_se']:.3f} | {r['spread']:>6.2f} | "
                  f"{r['reported']:>12.2f} | {r['within1']:>12.2f} | {r['within3']:>12.2f} | "
                  f"{r['worst']:>6.1f} | {r['negative']:>5d} | {r['wall']:>16.2f}")
        ratio = rows[1]["wall"] / rows[0]["wall"]
        print(f"(spread and reported std relative to D_true; right error bars: within 1 std ~0.68, within "
              f"3 std ~0.997, reported std ~ spread)\nkinisi / allegro-diffusion wall time: {ratio:.1f}x; "
              f"total {time.perf_counter() - t_start:.0f} s")
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
