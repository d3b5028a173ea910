"""allegro-study on a tiny real study (2x2x2 cells, tens of steps, real LAMMPS and plugin):
killed part-way and resumed, it finishes with the same end states, bit for bit, as an
uninterrupted run; so do its Slurm scripts, run task by task with the variables Slurm sets; a
run that fails on a bad input is reported with its log while the others finish and only the
runs that need it are held back."""
import json
import os
import signal
import subprocess
import time

import pytest
from conftest import LMP, ROOT

STUDY = ROOT / "target" / "release" / "allegro-study"
MODEL = ROOT / "models" / "nawsbs.nequip.pth"

TINY = """preset = "demo"
output = "out"
timestep_fs = 2.0
thermo_every_fs = 4.0
[model]
path = "{model}"
[launcher]
cores = 2
lmp = "{lmp}"
[scan]
compositions = [{{ x = 0.0, variant = "pristine" }}]
reps = 2
coarse_temperatures_k = [300.0, 900.0]
fine_step_k = 300.0
coarse_ps = 0.1
fine_ps = 0.04
dump_every_fs = 8.0
[dihedral]
runs = [{{ composition = {{ x = 0.0, variant = "pristine" }}, temperature_k = 300.0, start = "tetragonal" }}]
reps = 2
ps = 0.1
dump_every_fs = 8.0
[diffusion]
sets = [{{ composition = {{ x = 0.125, variant = "w-vac" }}, temperatures_k = [600.0], lattice_scales = [1.0] }}]
reps = 2
npt_ps = 0.1
nvt_ps = 0.04
nve_ps = 0.3
dump_every_fs = 20.0
[haven]
composition = {{ x = 0.125, variant = "w-vac" }}
temperatures_k = [600.0]
reps = 2
runs = 2
nvt_ps = 0.04
nve_ps = 0.1
dump_every_fs = 20.0
"""
FINISHED = ["scan/pristine/T300", "scan/pristine/T900", "cell/w-vac-x0.125/T600",
            "diffusion/w-vac-x0.125/T600", "haven/w-vac-x0.125/T600/run1",
            "haven/w-vac-x0.125/T600/run2"]


def study(folder, lmp=LMP):
    folder.mkdir()
    (folder / "tiny.toml").write_text(TINY.format(model=MODEL, lmp=lmp))
    return folder / "tiny.toml"


def run(toml, **kw):
    return subprocess.run([str(STUDY), "run", "--study", str(toml)], capture_output=True, text=True,
                          timeout=600, **kw)


def started(toml, out):
    """`allegro-study run` in the background, once its first LAMMPS run has started."""
    proc = subprocess.Popen([str(STUDY), "run", "--study", str(toml)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.glob("**/pid")):
        time.sleep(0.05)
    return proc


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The tiny study run once, uninterrupted: the reference for the other runs."""
    base = tmp_path_factory.mktemp("whole")
    p = run(study(base / "whole"))
    assert p.returncode == 0, p.stderr
    out = base / "whole" / "out"
    for r in FINISHED:
        assert (out / r / "done.json").exists(), r
    return out


def test_report_of_the_finished_runs(whole, tmp_path):
    """report.md and study.json from the finished runs; D from the same dump as allegro-diffusion
    computes it on its own."""
    toml = whole.parent / "tiny.toml"
    p = subprocess.run([str(STUDY), "report", "--study", str(toml)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    md = (whole / "report.md").read_text()
    for section in ("## 1. Temperature scans and T_C", "## 2. Composition variants", "## 3. Local structure",
                    "## 4. Tracer diffusion", "## 5. Charge diffusion and Haven ratio"):
        assert section in md
    assert "not determined" in md  # two 0.1 ps scan points cannot give T_C: the report says so
    assert "| T_C pristine | not determined" in md and "| E_a w-vac-x0.125 | not enough" in md  # summary
    # the demo preset's barostat drag reaches LAMMPS' fix npt (the log echoes the substituted line)
    assert "tri 1.0 1.0 2.0 drag 1" in (whole / "scan/pristine/T300/log.lammps").read_text()
    assert (whole / "lattice_pristine.png").exists()
    rep = json.loads((whole / "study.json").read_text())
    # where T_C is open, the runs that would close it: re-derived here from the runs' phases
    sec = rep["lattice"][0]
    # planned temperatures (from the run names): 0.1 ps runs' means are far from them
    phases = [(float(r["name"].rsplit("/T", 1)[1]), r["phase"]) for r in sec["result"]["runs"]]
    tet = [t for t, ph in phases if ph == "tetragonal"]
    cub = [t for t, ph in phases if ph == "cubic"]
    ps = sec["basis"]["ps_each"]
    undecided = sorted({round(t / 25) * 25 for t, ph in phases if ph not in ("tetragonal", "cubic")
                        and (not tet or t > max(tet)) and (not cub or t < min(cub))})
    want = ({(True, False): ([round((max(t for t, _ in phases) + 100) / 25) * 25], ps),
             (False, True): ([round(max(min(t for t, _ in phases) - 100, 50) / 25) * 25], ps),
             (False, False): (sorted({round(t / 25) * 25 for t, _ in phases}), 4 * ps)}
            .get((bool(tet), bool(cub)), (None, 4 * ps)))
    if bool(tet) != bool(cub) and undecided:  # undecided runs beyond the bracket: those, longer
        want = (undecided, 4 * ps)
    nxt = sec["next_runs"]
    if want[0] is not None:
        assert nxt["temperatures_K"] == want[0], (phases, nxt)
    assert nxt["ps"] == pytest.approx(want[1]) and nxt["atoms"] == 128 and nxt["minutes_each"] > 0
    assert f"To determine T_C of pristine: {nxt['why']}" in md
    assert rep["runs_finished"] == len(FINISHED)
    point = rep["diffusion"][0]["points"][0]
    d = tmp_path / "d.json"
    subprocess.run([str(ROOT / "target" / "release" / "allegro-diffusion"), "--timestep", "0.002",
                    "--species", "Na", "--types", "1=Na,2=Sb,3=W,4=S", "--temperature", "600",
                    "--json", str(d), str(whole / point["id"] / "traj.bin")], check=True, capture_output=True)
    alone = json.loads(d.read_text())
    assert point["analysis"]["D"]["value"] == alone["D"]["value"]
    assert point["analysis"]["D"]["std"] == alone["D"]["std"]
    assert point["basis"] == {"runs": 1, "atoms": 126, "ps_each": 0.3}
    # the dihedral run is the 300 K scan run (same cell, start, length, frames): not run twice,
    # its section read after the scan's equilibration cut, as allegro-dihedral reads it alone
    assert not (whole / "dihedral").exists()
    sec = rep["dihedral"][0]
    assert sec["run"] == "scan/pristine/T300"
    scan = next(r for r in rep["lattice"][0]["result"]["runs"] if r["name"] == "scan/pristine/T300")
    skip = scan["equilibration_rows"] * 4.0 / 1000.0
    dj = tmp_path / "dihedral.json"
    subprocess.run([str(ROOT / "target" / "release" / "allegro-dihedral"), "--timestep", "0.002",
                    "--types", "1=Na,2=Sb,3=W,4=S", "--all-directions", "--skip", str(skip),
                    "--json", str(dj), str(whole / "scan/pristine/T300/traj.bin")],
                   check=True, capture_output=True)
    alone = json.loads(dj.read_text())
    assert sec["pair_types"]["SbS4-SbS4"]["pairs"] == alone["pair_types"]["SbS4-SbS4"]["pairs"] > 0
    assert sec["pair_types"]["SbS4-SbS4"]["mean_abs_deg"] == alone["pair_types"]["SbS4-SbS4"]["mean_abs_deg"]
    assert 0.1 - skip - 0.008 - 1e-9 <= sec["basis"]["ps_each"] <= 0.1 - skip  # first to last frame


def same_results(out, other):
    for r in FINISHED:
        for name in ("end.data", "traj.bin"):
            a, b = out / r / name, other / r / name
            if a.exists() or b.exists():
                assert a.read_bytes() == b.read_bytes(), f"{r}/{name} differs"


def test_killed_study_resumes_to_the_same_results(tmp_path, whole):
    out = whole

    killed = study(tmp_path / "killed")
    kout = tmp_path / "killed" / "out"
    proc = subprocess.Popen([str(STUDY), "run", "--study", str(killed)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(kout.glob("**/done.json"))) < 2:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its LAMMPS runs, as a crash would
    proc.wait()
    done_before = len(list(kout.glob("**/done.json")))
    assert 2 <= done_before < len(FINISHED), done_before

    p = run(killed)
    assert p.returncode == 0, p.stderr
    assert "were finished before" in p.stderr and f" {done_before} were" in p.stderr, p.stderr
    same_results(out, kout)


def test_sigterm_stops_the_runs_it_started(tmp_path):
    toml = study(tmp_path / "s")
    out = tmp_path / "s" / "out"
    proc = started(toml, out)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "interrupted" in err, err
    for pid in out.glob("**/pid"):
        if not (pid.parent / "done.json").exists():
            try:
                os.killpg(int(pid.read_text()), 0)
                alive = True
            except ProcessLookupError:
                alive = False
            assert not alive, f"LAMMPS of {pid.parent} still runs"


def test_slurm_scripts_run_as_slurm_runs_them(tmp_path, whole):
    toml = study(tmp_path / "s")
    jobs = tmp_path / "jobs"
    p = subprocess.run([str(STUDY), "slurm", str(jobs), "--study", str(toml), "--partition", "short"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    # submit.sh against a stand-in sbatch that records its arguments and answers job ids
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "sbatch").write_text('#!/bin/sh\necho "$@" >> "$SBATCH_LOG"\nwc -l < "$SBATCH_LOG"\n')
    (fake / "sbatch").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}", SBATCH_LOG=str(tmp_path / "sbatch.log"))
    subprocess.run(["bash", str(jobs / "submit.sh")], check=True, env=env, capture_output=True)
    calls = (tmp_path / "sbatch.log").read_text().splitlines()
    job = {c.split()[-1].removesuffix(".sbatch"): (k + 1, c) for k, c in enumerate(calls)}
    assert set(job) == {"scan", "refine", "cell", "diffusion", "haven"}
    assert f"--dependency=afterany:{job['scan'][0]} " in job["refine"][1]
    for stage in ("diffusion", "haven"):
        assert f"--dependency=afterany:{job['cell'][0]} " in job[stage][1]
    scan = (jobs / "scan.sbatch").read_text()
    assert "#SBATCH --array=1-2" in scan and "#SBATCH --partition=short" in scan
    # every task of every stage, in dependency order, with the variables Slurm sets
    for stage in ("scan", "refine", "cell", "diffusion", "haven"):
        n = len((jobs / f"{stage}.ids").read_text().split())
        for task in range(1, n + 1):
            env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(task), SLURM_ARRAY_JOB_ID="7",
                       SLURM_JOB_ID=str(100 + task), SLURM_NTASKS="1", SLURM_CPUS_PER_TASK="1")
            t = subprocess.run(["bash", str(jobs / f"{stage}.sbatch")], env=env, capture_output=True,
                               text=True, timeout=300)
            assert t.returncode == 0, f"{stage} task {task}: {t.stderr}"
    same_results(whole, tmp_path / "s" / "out")


def test_a_failing_run_is_reported_and_the_others_finish(tmp_path):
    # a launcher that damages the 900 K run's start structure, then runs the real LAMMPS
    wrapper = tmp_path / "lmp-damaging"
    wrapper.write_text(f"""#!/bin/sh
case " $* " in *" temp 900 "*) head -n 12 start.data > cut.data && mv cut.data start.data ;; esac
exec "{LMP}" "$@"
""")
    wrapper.chmod(0o755)
    toml = study(tmp_path / "s", lmp=wrapper)
    p = run(toml)
    assert p.returncode != 0
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("error: 1 run(s) failed (scan/pristine/T900)"), p.stderr
    assert "failed: scan/pristine/T900 (its log ends:)" in p.stderr and "ERROR" in p.stderr, p.stderr
    out = tmp_path / "s" / "out"
    assert (out / "scan/pristine/T900/failed.txt").exists()
    for r in FINISHED:
        assert (out / r / "done.json").exists() == (r != "scan/pristine/T900"), r
    assert "not run: refine/pristine/fine1-from-cubic: waits for scan/pristine/T900" in p.stderr, p.stderr


def test_a_collapsing_run_is_stopped_and_reported_as_such(tmp_path):
    """A run whose temperature runs away (the protocol inputs' guard, tests/python/
    test_collapse_guard.py) is a failed run whose failed.txt and the report say the model
    collapsed. The launcher lowers the 900 K run's threshold to 0.2 x 900 K, which the freshly
    started run passes at the guard's first check."""
    wrapper = tmp_path / "lmp-collapsing"
    wrapper.write_text(f"""#!/bin/sh
case " $* " in *" temp 900 "*) exec "{LMP}" "$@" -var halt_above 0.2 ;; esac
exec "{LMP}" "$@"
""")
    wrapper.chmod(0o755)
    toml = study(tmp_path / "s", lmp=wrapper)
    p = run(toml)
    assert p.returncode != 0
    assert p.stderr.strip().splitlines()[-1].startswith("error: 1 run(s) failed (scan/pristine/T900)")
    out = tmp_path / "s" / "out"
    why = (out / "scan/pristine/T900/failed.txt").read_text().splitlines()
    assert why[0].startswith("the temperature ran away (past halt_above"), why
    assert any("Fix halt condition for fix-id collapse met on step 10" in line for line in why), why
    assert not (out / "scan/pristine/T900/end.data").exists()
    r = subprocess.run([str(STUDY), "report", "--study", str(toml)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    md = (out / "report.md").read_text()
    assert "runs stopped because the model collapsed" in md and "scan/pristine/T900" in md, md
    assert "failed runs (see failed.txt" not in md, md


def test_one_run_per_folder_and_scripts_never_overwritten(tmp_path):
    """A second `run` on a folder in use stops at once, naming the first (two used to restart each
    other's LAMMPS runs); the study.toml written into the folder loads from anywhere (its paths
    absolute); `slurm` into a folder that has scripts needs --force."""
    toml = study(tmp_path / "s")
    out = tmp_path / "s" / "out"
    first = started(toml, out)
    second = run(toml)
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=60)
    assert second.returncode != 0, second.stderr
    assert f"is in use by another allegro-study run (pid {first.pid}" in second.stderr, second.stderr
    assert not (out / ".lock").exists(), "the lock outlives its run"
    # the written study file, loaded from another folder, plans the same runs
    plan = lambda t, cwd: subprocess.run([str(STUDY), "plan", "--study", str(t), "--json", "--no-probe"],
                                         capture_output=True, text=True, cwd=cwd, check=True).stdout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert json.loads(plan(out / "study.toml", elsewhere)) == json.loads(plan(toml, tmp_path / "s"))
    written = (out / "study.toml").read_text()
    assert f'output = "{out}"' in written and f'path = "{MODEL}"' in written, written
    jobs = tmp_path / "jobs"
    slurm = lambda *extra: subprocess.run([str(STUDY), "slurm", str(jobs), "--study", str(toml), *extra],
                                          capture_output=True, text=True)
    assert slurm().returncode == 0
    again = slurm()
    assert again.returncode != 0 and "already holds a study's Slurm scripts" in again.stderr, again.stderr
    assert slurm("--force").returncode == 0


def test_a_run_failing_before_lammps_starts_says_why(tmp_path):
    """A launcher that does not exist: each run's reason printed and kept in its failed.txt
    (it used to be in the summary only)."""
    toml = study(tmp_path / "s", lmp=tmp_path / "no-such-lmp")
    p = run(toml)
    assert p.returncode != 0
    assert "failed: scan/pristine/T300 (before LAMMPS started): " in p.stderr, p.stderr
    why = (tmp_path / "s" / "out" / "scan/pristine/T300/failed.txt").read_text()
    assert "no-such-lmp" in why, why
