"""Phonons of cubic Na3SbS4 in one run, same model, same relaxed cell, same 2x2x2 supercell,
0.02 A displacements, same band-path q points and a 12x12x12 DOS mesh: allegro-phonon (model
in-process, native engine) against phonopy 4.10 driven by nequip's own ASE calculator (the
upstream route). Each tool runs in its own process under GNU time (wall time, peak RSS).

    .venv/bin/python bench/phonon_speed.py [--model M.nequip.pth] [--threads 2] [--supercell 2]

Prints a table with the ratios and the largest frequency difference between the two. The
cell is relaxed first by allegro-phonon (not timed). phonopy uses its symmetry to displace
only 3 inequivalent atoms (6 supercells with +-); allegro-phonon displaces all 8 atoms of the
primitive cell (49 supercells): the timing includes that difference, as a user would see it.
Needs the test setup (torch, nequip, phonopy): `bash scripts/setup.sh test`.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
PHONON = ROOT / "target" / "release" / "allegro-phonon"


def measured(cmd, cwd):
    """Runs cmd; returns (stdout, wall s, its own peak RSS in MB)."""
    rss = cwd / "rss.txt"
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss)] + [str(c) for c in cmd],
                       cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p.stdout, wall, int(rss.read_text().split()[-1]) / 1024


def phonopy_worker(model, structure, ours_json, supercell, threads, mesh):
    """In its own process: phonopy + nequip ASE, the same outputs as allegro-phonon."""
    import warnings

    import numpy as np

    import phonopy_reference as ref

    ours = json.loads(Path(ours_json).read_text())
    atoms = ref.read_xyz(structure)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ph = ref.phonopy_run(model, atoms, (supercell,) * 3, 0.02, masses=ours["masses_amu"],
                             threads=threads)
    band = [ref.frequencies(ph, ours["unit_cell_a"], q) for q in ours["band"]["q"]]
    ph.run_mesh([mesh] * 3)
    ph.run_total_dos(sigma=0.1)
    worst = max(float(np.abs(np.asarray(f) - b).max()) for f, b in zip(ours["band"]["frequencies_thz"], band))
    print(json.dumps({"displacements": len(ph.supercells_with_displacements), "worst": worst}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models" / "nawsbs.nequip.pth"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--supercell", type=int, default=2)
    ap.add_argument("--mesh", type=int, default=12)
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return phonopy_worker(a.model, a.worker[0], a.worker[1], a.supercell, a.threads, a.mesh)
    if not PHONON.exists():
        sys.exit(f"{PHONON} is missing: run `bash scripts/setup.sh test` first")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        relaxed = work / "relaxed.xyz"
        subprocess.run([str(PHONON), "--model", a.model, "--structure", "cubic", "--relax", "0.001",
                        "--write-structure", str(relaxed), "--soft-mode", "none", "--dos-mesh", "2",
                        "--threads", str(a.threads)], check=True, capture_output=True)
        sc = [str(a.supercell)] * 3
        ours_json = work / "ours.json"
        _, t_ours, m_ours = measured([PHONON, "--model", a.model, "--structure", relaxed, "--supercell", *sc,
                                      "--soft-mode", "none", "--dos-mesh", a.mesh, "--threads", a.threads,
                                      "--json", ours_json], work)
        out, t_ph, m_ph = measured([sys.executable, Path(__file__).resolve(), "--model", a.model,
                                    "--threads", a.threads, "--supercell", a.supercell, "--mesh", a.mesh,
                                    "--worker", relaxed, ours_json], work)
        info = json.loads(out.strip().splitlines()[-1])
        ours = json.loads(ours_json.read_text())
    print(f"cubic Na3SbS4, {a.supercell}x{a.supercell}x{a.supercell} supercell ({ours['atoms_supercell']} atoms), "
          f"{len(ours['band']['q'])} band q points, {a.mesh}^3 DOS mesh, {a.threads} threads")
    print(f"{'tool':<34} {'supercells':>10} {'wall s':>8} {'peak MB':>8}")
    print(f"{'allegro-phonon (native engine)':<34} {ours['force_evaluations']:>10} {t_ours:>8.1f} {m_ours:>8.0f}")
    print(f"{'phonopy 4.10 + nequip ASE':<34} {info['displacements']:>10} {t_ph:>8.1f} {m_ph:>8.0f}")
    print(f"ratio phonopy / allegro-phonon: wall {t_ph / t_ours:.1f}x, memory {m_ph / m_ours:.1f}x; "
          f"largest frequency difference along the path {info['worst']:.4f} THz")


if __name__ == "__main__":
    main()
