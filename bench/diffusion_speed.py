"""Diffusion-analysis speed and accuracy: allegro-diffusion (this project) vs kinisi 2.1.0, on one
synthetic LAMMPS trajectory with a known tracer diffusion coefficient, in one run.

    .venv/bin/python bench/diffusion_speed.py [--atoms 8192] [--frames 2000] [--keep]

Needs kinisi + MDAnalysis in .venv (bench/setup_kinisi.sh) and the release binary
(cargo build --release --bin allegro-diffusion; built here if missing).

Trajectory: cubic-Na3SbS4-like supercell (16 atoms per conventional cell, a = 7.15 A; 8x8x8 = 8,192
atoms in a 57.2 A cube by default; other --atoms use the most cube-like a x b x c supercell).
"Na" (LAMMPS type 1, 3/8 of the atoms) do independent Gaussian random walks from their 6b sites,
per-dimension step variance 2 D dt, so MSD(t) = 6 D t exactly (no intercept); D_true = --d-true
(default 0.1 A^2/ps = 1e-5 cm^2/s). The framework (Sb type 2, W type 3 on 5 % of the Sb sites, S type
4) vibrates around fixed sites (independent Gaussian noise, 0.1 A per dimension). Frames every 1 ps,
written as TIMESTEP = 500 x frame with the MD time step 0.002 ps, as a text `dump custom` with
columns `id type x y z ix iy iz` (wrapped coordinates + image flags, 6 decimals). Seeded.

Each tool runs as its own subprocess under /usr/bin/time -v (wall time, peak RSS, CPU time),
watched for a time limit and an RSS limit, with --threads threads (RAYON_NUM_THREADS for
allegro-diffusion; OMP/OPENBLAS/MKL_NUM_THREADS for kinisi):
  * allegro-diffusion --timestep 0.002 --species 1 --json out.json DUMP   (all defaults)
  * kinisi: MDAnalysis Universe(DUMP, format='LAMMPSDUMP'),
    DiffusionAnalyzer.from_universe(u, specie='1', time_step=0.002 ps, step_skip=500),
    .diffusion(start_dt) with start_dt = the start of allegro-diffusion's fitted range (a tenth of
    the run); everything else at kinisi's defaults (time-interval grid: every frame; Bayesian
    regression with 32 walkers x 1500 steps). D and its std are the mean and the (ddof=1) standard
    deviation of kinisi's posterior samples of D, as kinisi itself displays them.
If kinisi's defaults run past --kinisi-timeout or --kinisi-mem-gb, it is stopped, that is reported,
and kinisi is run again with the closest feasible documented setting: the `dt` argument (its grid
of time intervals) thinned to every k-th frame (k = ceil(frames / 200)), everything else unchanged.
"""
import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "target" / "release" / "allegro-diffusion"
A0 = 7.15  # conventional cubic lattice parameter, A
X_S = 0.187  # S on 8c (x, x, x)
MD_DT_PS = 0.002  # MD time step
STEP_SKIP = 500  # MD steps between frames -> 1 ps
FRAME_PS = MD_DT_PS * STEP_SKIP
TYPE_NA, TYPE_SB, TYPE_W, TYPE_S = 1, 2, 3, 4
FRAMEWORK_SIGMA = 0.1  # A, per dimension
DECIMALS = 6


# ----------------------------------------------------------------------------- structure

def conventional_cell():
    """Fractional sites of cubic Na3SbS4 (I-43m): Sb 2a, Na 6b, S 8c."""
    sb = [(0, 0, 0), (0.5, 0.5, 0.5)]
    na = [(0, 0.5, 0.5), (0.5, 0, 0.5), (0.5, 0.5, 0), (0.5, 0, 0), (0, 0.5, 0), (0, 0, 0.5)]
    x = X_S
    s0 = [(x, x, x), (-x, -x, x), (-x, x, -x), (x, -x, -x)]
    s = s0 + [tuple(c + 0.5 for c in p) for p in s0]
    frac = np.array(na + sb + s, float) % 1.0
    kind = np.array([TYPE_NA] * 6 + [TYPE_SB] * 2 + [TYPE_S] * 8)
    return frac, kind


def supercell_shape(n_atoms):
    if n_atoms % 16:
        sys.exit(f"--atoms must be a multiple of 16 (16 atoms per conventional cell), not {n_atoms}")
    n = n_atoms // 16
    best = None
    for a in range(1, n + 1):
        if n % a:
            continue
        for b in range(a, n // a + 1):
            if (n // a) % b:
                continue
            c = n // a // b
            if c < b:
                continue
            if best is None or c / a < best[2] / best[0]:
                best = (a, b, c)
    return best


def build_structure(n_atoms, rng):
    frac, kind = conventional_cell()
    a, b, c = supercell_shape(n_atoms)
    grid = np.array([(i, j, k) for i in range(a) for j in range(b) for k in range(c)], float)
    pos = ((grid[:, None, :] + frac[None, :, :]) * A0).reshape(-1, 3)
    types = np.tile(kind, len(grid))
    sb = np.flatnonzero(types == TYPE_SB)
    types[rng.choice(sb, size=len(sb) // 20, replace=False)] = TYPE_W
    box = np.array([a, b, c], float) * A0
    return pos, types, box, (a, b, c)


# ----------------------------------------------------------------------------- dump writer

def _uint_columns(v, width, pad=ord(" ")):
    """Right-aligned decimal digits of non-negative ints v as a (len(v), width) uint8 array."""
    out = np.empty((v.size, width), np.uint8)
    rem = v.copy()
    for k in range(width - 1, -1, -1):
        out[:, k] = rem % 10 + 48
        rem //= 10
    if np.any(rem):
        raise ValueError("number too wide for its column")
    if pad != ord("0"):
        for k in range(width - 1):
            out[v < 10 ** (width - 1 - k), k] = pad
    return out


def _int_columns(v, width):
    """Right-aligned signed ints, space padded."""
    out = _uint_columns(np.abs(v), width)
    neg = np.flatnonzero(v < 0)
    if neg.size:
        ndig = np.maximum(1, np.floor(np.log10(np.maximum(np.abs(v[neg]), 1))).astype(int) + 1)
        col = width - 1 - ndig
        if np.any(col < 0):
            raise ValueError("number too wide for its column")
        out[neg, col] = ord("-")
    return out


class DumpWriter:
    def __init__(self, path, types, box):
        self.f = open(path, "wb")
        self.types = types
        self.n = len(types)
        self.box = box
        self.scale = 10 ** DECIMALS
        self.box_i = np.round(box * self.scale).astype(np.int64)
        self.w_id = len(str(self.n))
        self.w_int = len(str(int(box.max()))) + 1
        ids = np.arange(1, self.n + 1)
        self.prefix = np.concatenate(
            [_uint_columns(ids, self.w_id), np.full((self.n, 1), 32, np.uint8),
             _uint_columns(types.astype(np.int64), 1)], axis=1)
        bounds = "".join(f"0.0 {L:.{DECIMALS}f}\n" for L in box)
        self.header = ("ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n" + f"{self.n}\n"
                       + "ITEM: BOX BOUNDS pp pp pp\n" + bounds
                       + "ITEM: ATOMS id type x y z ix iy iz\n")

    def write(self, steps, positions):
        """positions: (n_frames, n_atoms, 3) unwrapped, A."""
        nf = positions.shape[0]
        micro = np.round(positions.reshape(-1, 3) * self.scale).astype(np.int64)
        image = np.floor_divide(micro, self.box_i)
        wrapped = micro - image * self.box_i  # 0 <= wrapped < box, exactly, in micro-A
        cols = [np.tile(self.prefix, (nf, 1))]
        for d in range(3):
            ip, fp = np.divmod(wrapped[:, d], self.scale)
            cols += [np.full((len(ip), 1), 32, np.uint8), _uint_columns(ip, self.w_int),
                     np.full((len(ip), 1), 46, np.uint8), _uint_columns(fp, DECIMALS, pad=ord("0"))]
        for d in range(3):
            cols += [np.full((len(ip), 1), 32, np.uint8), _int_columns(image[:, d], 4)]
        cols.append(np.full((len(ip), 1), 10, np.uint8))
        text = np.concatenate(cols, axis=1).reshape(nf, -1)
        for k in range(nf):
            self.f.write(self.header.format(step=steps[k]).encode())
            self.f.write(text[k].tobytes())

    def close(self):
        self.f.close()


def generate(path, n_atoms, n_frames, d_true, seed, chunk=25):
    """Write the synthetic trajectory; return a summary dict."""
    rng = np.random.default_rng(seed)
    pos, types, box, cells = build_structure(n_atoms, rng)
    na = np.flatnonzero(types == TYPE_NA)
    fw = np.flatnonzero(types != TYPE_NA)
    sigma_step = math.sqrt(2.0 * d_true * FRAME_PS)
    writer = DumpWriter(path, types, box)
    na_now = pos[na].copy()
    first = last = None
    for f0 in range(0, n_frames, chunk):
        nf = min(chunk, n_frames - f0)
        steps = rng.normal(0.0, sigma_step, (nf, len(na), 3))
        if f0 == 0:
            steps[0] = 0.0  # frame 0: Na on their sites
        na_traj = na_now + np.cumsum(steps, axis=0)
        na_now = na_traj[-1]
        frames = np.empty((nf, n_atoms, 3))
        frames[:, na] = na_traj
        frames[:, fw] = pos[fw] + rng.normal(0.0, FRAMEWORK_SIGMA, (nf, len(fw), 3))
        writer.write([(f0 + k) * STEP_SKIP for k in range(nf)], frames)
        if f0 == 0:
            first = frames[0].copy()
        last = frames[-1].copy()
    writer.close()
    return dict(box=box, cells=cells, types=types, n_na=len(na), n_fw=len(fw), first=first, last=last)


def read_frame(path, which, n_atoms):
    """Parse frame 0 or the last frame back (check of the writer): unwrapped positions by id."""
    with open(path, "rb") as f:
        if which == "first":
            text = b"".join(f.readline() for _ in range(9 + n_atoms))
        else:
            first = b"".join(f.readline() for _ in range(9 + n_atoms))
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - len(first) - 1000))
            tail = f.read()
            text = tail[tail.rindex(b"ITEM: TIMESTEP"):]
    lines = text.splitlines()
    box = np.array([float(lines[5 + d].split()[1]) for d in range(3)])
    data = np.loadtxt(lines[9:])
    data = data[np.argsort(data[:, 0])]
    return data[:, 2:5] + data[:, 5:8] * box


# ----------------------------------------------------------------------------- measuring

def run_measured(cmd, env, log_path, timeout_s, mem_limit_mb):
    """Run cmd under /usr/bin/time -v (or a getrusage wrapper); kill it (its own process group)
    past timeout_s or mem_limit_mb of RSS. Returns a dict."""
    import psutil

    stats_path = Path(str(log_path) + ".rusage")
    if Path("/usr/bin/time").exists():
        full = ["/usr/bin/time", "-v", "-o", str(stats_path)] + cmd
        kind = "time"
    else:
        wrapper = ("import json,resource,subprocess,sys,time;t=time.perf_counter();"
                   "r=subprocess.call(sys.argv[2:]);u=resource.getrusage(resource.RUSAGE_CHILDREN);"
                   "open(sys.argv[1],'w').write(json.dumps(dict(rc=r,wall=time.perf_counter()-t,"
                   "maxrss_kb=u.ru_maxrss,user=u.ru_utime,sys=u.ru_stime)));sys.exit(r)")
        full = [sys.executable, "-c", wrapper, str(stats_path)] + cmd
        kind = "rusage"
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        p = subprocess.Popen(full, stdout=log, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
        killed = None
        sampled_peak = 0
        proc = psutil.Process(p.pid)
        while p.poll() is None:
            try:
                rss = sum(c.memory_info().rss for c in [proc] + proc.children(recursive=True))
            except psutil.Error:
                rss = 0
            sampled_peak = max(sampled_peak, rss)
            elapsed = time.perf_counter() - t0
            if killed is None and (elapsed > timeout_s or rss > mem_limit_mb * 2**20):
                killed = (f"stopped after {elapsed:.0f} s (limit {timeout_s:.0f} s)"
                          if elapsed > timeout_s else
                          f"stopped at {rss / 2**20:.0f} MB RSS (limit {mem_limit_mb:.0f} MB)")
                os.killpg(p.pid, signal.SIGKILL)
            try:
                p.wait(timeout=0.25)
            except subprocess.TimeoutExpired:
                pass
        wall = time.perf_counter() - t0
    out = dict(rc=p.returncode, wall_s=wall, killed=killed, peak_rss_mb=sampled_peak / 2**20,
               user_s=float("nan"), sys_s=float("nan"))
    try:
        text = stats_path.read_text()
        if kind == "time":
            for line in text.splitlines():
                key, _, val = line.strip().rpartition(": ")
                if key == "Maximum resident set size (kbytes)":
                    out["peak_rss_mb"] = int(val) / 1024
                elif key == "User time (seconds)":
                    out["user_s"] = float(val)
                elif key == "System time (seconds)":
                    out["sys_s"] = float(val)
        else:
            s = json.loads(text)
            out.update(peak_rss_mb=s["maxrss_kb"] / 1024, user_s=s["user"], sys_s=s["sys"])
    except (OSError, ValueError, KeyError):
        pass  # killed: keep the sampled peak
    return out


def thread_env(threads):
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
              "RAYON_NUM_THREADS"):
        env[k] = str(threads)
    return env


# ----------------------------------------------------------------------------- kinisi worker

def kinisi_worker(argv):
    """Run in its own process: kinisi on one dump; writes a JSON summary and an .npz of its MSD."""
    p = argparse.ArgumentParser(prog="diffusion_speed.py _kinisi_worker")
    p.add_argument("dump")
    p.add_argument("--start-ps", type=float, required=True)
    p.add_argument("--dt-every", type=int, default=0, help="0: kinisi's default dt grid")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--step-skip", type=int, default=STEP_SKIP, help="MD steps between frames")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    import warnings

    warnings.filterwarnings("ignore")
    times = {}
    t = time.perf_counter()
    import MDAnalysis as mda
    import scipp as sc
    from kinisi.analyze import DiffusionAnalyzer

    times["import"] = time.perf_counter() - t
    t = time.perf_counter()
    u = mda.Universe(a.dump, format="LAMMPSDUMP")
    n_frames = len(u.trajectory)
    times["universe"] = time.perf_counter() - t
    kwargs = dict(specie="1", time_step=MD_DT_PS * sc.Unit("ps"),
                  step_skip=a.step_skip * sc.units.dimensionless, progress=False)
    frame_ps = MD_DT_PS * a.step_skip
    if a.dt_every:
        kwargs["dt"] = sc.arange("time interval", a.dt_every * frame_ps, n_frames * frame_ps + 1e-9,
                                 a.dt_every * frame_ps, unit="ps")
    t = time.perf_counter()
    da = DiffusionAnalyzer.from_universe(u, **kwargs)
    times["parse+msd"] = time.perf_counter() - t
    t = time.perf_counter()
    da.diffusion(a.start_ps * sc.Unit("ps"), progress=False,
                 random_state=np.random.RandomState(a.seed))
    times["fit"] = time.perf_counter() - t
    D = da.D  # kinisi.Samples, cm^2/s
    res = dict(
        D=float(sc.mean(D).value), D_std=float(sc.std(D, ddof=1).value), unit=str(D.unit),
        n_frames_read=n_frames, n_time_points=int(da.trajectory.dt.sizes["time interval"]),
        n_msd=int(da.msd.sizes["time interval"]),
        dt_first_ps=float(da.dt.values[0]), dt_last_ps=float(da.dt.values[-1]),
        n_fitted=int(da.diff.covariance_matrix.shape[0]),
        coords_time_size=int(da.trajectory.coords.sizes["time"]),
        coords_dtype=str(da.trajectory.coords.dtype), times=times,
    )
    np.savez(Path(a.out).with_suffix(".npz"), dt=da.dt.values, msd=da.msd.values,
             var=da.msd.variances, n_samples=da.da.coords["n_samples"].values,
             cov=da.diff.covariance_matrix.values, D=D.values)
    Path(a.out).write_text(json.dumps(res, indent=1))


# ----------------------------------------------------------------------------- main

def require_tools():
    """The release binary (built if missing) and kinisi + MDAnalysis, or a clear exit."""
    if not BIN.exists():
        print(f"building {BIN.name} ...", flush=True)
        subprocess.run(["cargo", "build", "--release", "--bin", "allegro-diffusion"], cwd=ROOT, check=True)
    try:
        import kinisi  # noqa: F401
        import MDAnalysis  # noqa: F401
    except ImportError:
        sys.exit("kinisi / MDAnalysis missing: run bench/setup_kinisi.sh")


def fmt_d(d, s):
    return f"{d:.4e} ± {s:.2e}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--atoms", type=int, default=8192)
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--d-true", type=float, default=0.1, help="Na tracer D, A^2/ps (0.1 = 1e-5 cm^2/s)")
    ap.add_argument("--seed", type=int, default=20240607)
    ap.add_argument("--threads", type=int, default=1, help="threads for each tool")
    ap.add_argument("--workdir", type=Path, default=None, help="where the dump goes (default: a new dir in /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the dump and the outputs")
    ap.add_argument("--timeout", type=float, default=1200, help="per-tool time limit, s")
    ap.add_argument("--mem-gb", type=float, default=16, help="per-tool RSS limit, GB")
    ap.add_argument("--skip-kinisi-default", action="store_true",
                    help="go straight to the thinned dt grid for kinisi")
    args = ap.parse_args()

    require_tools()

    if args.workdir is None:
        work = Path(tempfile.mkdtemp(prefix="diffusion_speed_", dir="/tmp"))
    else:
        work = args.workdir
        work.mkdir(parents=True, exist_ok=True)
    dump = work / "traj.lammpsdump"
    t_start = time.perf_counter()
    try:
        # 1. trajectory
        t = time.perf_counter()
        info = generate(dump, args.atoms, args.frames, args.d_true, args.seed)
        t_gen = time.perf_counter() - t
        size_mb = dump.stat().st_size / 1e6
        a, b, c = info["cells"]
        print(f"trajectory: {args.atoms} atoms ({info['n_na']} Na type 1, {info['n_fw']} framework "
              f"types 2-4), {args.frames} frames x {FRAME_PS:g} ps, {a}x{b}x{c} cells, box "
              f"{' x '.join(f'{L:.2f}' for L in info['box'])} A; {size_mb:.0f} MB written in "
              f"{t_gen:.1f} s to {dump}", flush=True)
        for which in ("first", "last"):
            back = read_frame(dump, which, args.atoms)
            err = np.abs(back - info[which]).max()
            if err > 2 * 10 ** -DECIMALS:
                sys.exit(f"dump check failed: {which} frame read back {err:.2e} A off")
        d_true_cm2 = args.d_true * 1e-4
        run_ps = (args.frames - 1) * FRAME_PS

        env = thread_env(args.threads)
        mem_mb = args.mem_gb * 1024
        rows = []

        # 2a. allegro-diffusion
        out_json = work / "allegro.json"
        cmd = [str(BIN), "--timestep", str(MD_DT_PS), "--species", "1", "--json", str(out_json), str(dump)]
        print("running: " + " ".join(cmd), flush=True)
        m = run_measured(cmd, env, work / "allegro.log", args.timeout, mem_mb)
        if m["rc"] != 0 or m["killed"]:
            print((work / "allegro.log").read_text()[-3000:])
            sys.exit(f"allegro-diffusion failed: {m}")
        ours = json.loads(out_json.read_text())
        start_ps = ours["fit_range_ps"][0]
        rows.append(dict(tool="allegro-diffusion", m=m, D=ours["D"]["value"], std=ours["D"]["std"],
                         note=f"GLS, {len(ours['fit_lags_ps'])} lags {ours['fit_range_ps'][0]:g}-"
                              f"{ours['fit_range_ps'][1]:g} ps"))

        # 2b. kinisi
        def kinisi(dt_every, label):
            res_path = work / f"kinisi_{dt_every}.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "_kinisi_worker", str(dump),
                   "--start-ps", repr(start_ps), "--dt-every", str(dt_every), "--seed", str(args.seed),
                   "--out", str(res_path)]
            print(f"running: kinisi ({label}), start_dt = {start_ps:g} ps", flush=True)
            m = run_measured(cmd, env, work / f"kinisi_{dt_every}.log", args.timeout, mem_mb)
            if m["killed"] or m["rc"] != 0:
                return m, None
            return m, json.loads(res_path.read_text())

        kinisi_runs = []
        notes = []
        if not args.skip_kinisi_default:
            m, res = kinisi(0, "defaults: dt = every frame")
            kinisi_runs.append(("kinisi (default dt)", 0, m, res))
            if res is None:
                why = m["killed"] or f"exit code {m['rc']}"
                log = (work / "kinisi_0.log").read_text(errors="replace")[-2000:]
                notes.append(f"kinisi with its default settings did not finish: {why}; "
                             f"peak RSS seen {m['peak_rss_mb']:.0f} MB.")
                if not m["killed"]:
                    notes.append("kinisi log tail:\n" + log)
        if args.skip_kinisi_default or kinisi_runs[-1][3] is None:
            k = math.ceil(args.frames / 200)
            m, res = kinisi(k, f"dt = every {k}th frame")
            kinisi_runs.append((f"kinisi (dt every {k} fr.)", k, m, res))
            if res is None:
                log = (work / f"kinisi_{k}.log").read_text(errors="replace")[-2000:]
                notes.append(f"kinisi with dt every {k} frames failed too: "
                             f"{m['killed'] or 'exit code %d' % m['rc']}"
                             + ("" if m["killed"] else "; log tail:\n" + log))
        for label, k, m, res in kinisi_runs:
            if res is None:
                rows.append(dict(tool=label, m=m, D=float("nan"), std=float("nan"), note="did not finish"))
                continue
            rows.append(dict(tool=label, m=m, D=res["D"], std=res["D_std"], res=res,
                             note=f"Bayesian, {res['n_fitted']} intervals {start_ps:g}-{res['dt_last_ps']:g} ps"))

        # 3. table
        t_ref = rows[0]["m"]["wall_s"]
        print()
        print(f"D_true = {d_true_cm2:.4e} cm^2/s ({args.d_true:g} A^2/ps); {args.atoms} atoms, "
              f"{info['n_na']} Na, {args.frames} frames ({run_ps:g} ps), {size_mb:.0f} MB text dump, "
              f"{args.threads} thread(s) per tool")
        hdr = f"{'tool':<26} | {'wall time (s)':>13} | {'peak RSS (MB)':>13} | {'D (cm^2/s) ± std':>22} | {'(D - D_true)/std':>16} | {'wall / allegro':>14}"
        print(hdr)
        print("-" * len(hdr))
        for r in rows:
            m = r["m"]
            z = (r["D"] - d_true_cm2) / r["std"] if r["std"] == r["std"] and r["std"] > 0 else float("nan")
            wall = f"{m['wall_s']:.1f}" + ("*" if m["killed"] else "" if m["rc"] == 0 else "!")
            dcol = fmt_d(r["D"], r["std"]) if r["D"] == r["D"] else "—"
            zcol = f"{z:+.2f}" if z == z else "—"
            print(f"{r['tool']:<26} | {wall:>13} | {m['peak_rss_mb']:>13.0f} | {dcol:>22} | "
                  f"{zcol:>16} | {m['wall_s'] / t_ref:>14.1f}")
        if any(r["m"]["killed"] for r in rows):
            print("  * stopped at the limit: the wall time is a lower bound")
        if any(r["m"]["rc"] != 0 and not r["m"]["killed"] for r in rows):
            print("  ! failed (see the notes)")
        print()
        for r in rows:
            m = r["m"]
            extra = ""
            if "res" in r:
                tt = r["res"]["times"]
                extra = "; " + ", ".join(f"{k} {v:.1f} s" for k, v in tt.items())
            print(f"  {r['tool']}: {r['note']}; CPU user {m['user_s']:.1f} s + sys {m['sys_s']:.1f} s{extra}")
        for label, k, m, res in kinisi_runs:
            if res is None:
                continue
            z = np.load(work / f"kinisi_{k}.npz")
            cov = z["cov"]
            ev = np.linalg.eigvalsh(cov)
            dup = res["coords_time_size"] == res["n_frames_read"] + 1
            print(f"  {label}: {res['n_frames_read']} frames read, kinisi holds "
                  f"{res['coords_time_size']} ({res['coords_dtype']})"
                  + (" [first frame duplicated by kinisi's MDAnalysis parser: every interval's MSD "
                     "includes one displacement one frame short, and the last interval is labelled "
                     f"{res['dt_last_ps']:g} ps in a {run_ps:g} ps run]" if dup else "")
                  + f"; time intervals {res['dt_first_ps']:g}..{res['dt_last_ps']:g} ps "
                  f"({res['n_msd']} MSD points); fitted covariance {cov.shape[0]}x{cov.shape[0]}, "
                  f"condition number {ev.max() / max(ev.min(), 1e-300):.2e}")
            # MSD agreement on common lags (exact MSD expectation 6 D t)
            lag = np.array(ours["curves"]["lag_ps"])
            msd = np.array(ours["curves"]["msd_A2"])
            common = [(t, mo, z["msd"][np.argmin(np.abs(z["dt"] - t))]) for t, mo in zip(lag, msd)
                      if np.min(np.abs(z["dt"] - t)) < 1e-6 and t >= start_ps]
            if common:
                rel = max(abs(mk / mo - 1) for _, mo, mk in common)
                print(f"  {label}: MSD vs allegro-diffusion on {len(common)} common lags "
                      f">= {start_ps:g} ps: max relative difference {rel:.2e}")
        for n in notes:
            print("  note: " + n)
        print(f"\ntotal benchmark time {time.perf_counter() - t_start:.0f} s "
              f"(trajectory generation {t_gen:.0f} s)")
    finally:
        if args.keep:
            print(f"kept: {work}")
        elif args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            for f in [dump] + list(work.glob("allegro.*")) + list(work.glob("kinisi_*")):
                f.unlink(missing_ok=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_kinisi_worker":
        kinisi_worker(sys.argv[2:])
    else:
        main()
