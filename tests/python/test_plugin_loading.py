"""The three documented ways LAMMPS finds the plugin. A failed plugin load is not fatal in
LAMMPS (it only ends at 'Unrecognized pair style'), so each test checks energy numbers."""
import os
import sys
from pathlib import Path

import pytest
from conftest import header, model_path, run_lammps, thermo

import structures

SITE = Path(sys.executable).parents[1] / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
RAW_LMP = SITE / "lammps" / "lmp"  # the ELF binary: no entry points, no LD_LIBRARY_PATH
PLUGIN = SITE / "allegro_lammps" / "plugins" / "allegroplugin.so"
RAW_ENV = {"LD_LIBRARY_PATH": str(Path(sys.executable).parents[1] / "lib")}


def run0(tmp_path, prefix="", **kwargs):
    structures.write_lammps_data(structures.cubic(), tmp_path / "data.lmp")
    script = prefix + header("data.lmp", model_path("float64", "pth")) + """
thermo_style custom step pe
thermo_modify format float %.17g
run 0
"""
    _, out = run_lammps(tmp_path, script, **kwargs)
    return thermo((tmp_path / "log.lammps").read_text())[0]["PotEng"][0], out


@pytest.fixture(scope="module")
def reference_energy(tmp_path_factory):
    return run0(tmp_path_factory.mktemp("entry"))[0]


def test_entry_point_loads_plugin(tmp_path, reference_energy):
    energy, out = run0(tmp_path)
    assert "Loaded 1 plugins from" in out
    assert energy == reference_energy and energy < 0


def test_plugin_load_absolute_path(tmp_path, reference_energy):
    energy, out = run0(tmp_path, prefix=f"plugin load {PLUGIN}\n", lmp=RAW_LMP, env=RAW_ENV)
    assert "Loading plugin: Allegro" in out
    assert energy == reference_energy


def test_lammps_plugin_path(tmp_path, reference_energy):
    env = dict(RAW_ENV, LAMMPS_PLUGIN_PATH=str(PLUGIN.parent))
    energy, out = run0(tmp_path, lmp=RAW_LMP, env=env, np_ranks=2)
    assert energy == reference_energy


def test_native_only_plugin_needs_no_libtorch(tmp_path):
    """The plugin built against the torch-free staticlib (what `scripts/setup.sh run` installs;
    both setup modes build it into build/plugin-run) links no libtorch and matches nequip."""
    import subprocess

    from nequip_reference import evaluate

    plugin = Path(__file__).resolve().parents[2] / "build" / "plugin-run" / "allegroplugin.so"
    assert plugin.exists(), f"{plugin} missing: scripts/setup.sh builds it"
    needed = subprocess.run(["readelf", "-d", str(plugin)], capture_output=True, text=True, check=True).stdout
    assert "NEEDED" in needed and "torch" not in needed and "c10" not in needed, needed
    atoms = structures.cubic()
    ref = evaluate(model_path("float64", "pth"), atoms)
    energy, out = run0(tmp_path, prefix=f"plugin load {plugin}\n", lmp=RAW_LMP, env=RAW_ENV)
    # backend auto (the default) says why it chose the native engine
    assert "backend native (auto: the native engine implements every module of this model), dtype float64" in out
    assert abs(energy - ref["energy"]) <= 1e-10 * abs(ref["energy"])


def test_instruction_sets_through_the_plugin(tmp_path):
    """The log names the kernels; ALLEGRO_ISA lowers them (each path still matches nequip on a
    float64 model to 1e-10) and an unknown name is a clear LAMMPS error, not a fallback."""
    from nequip_reference import evaluate

    ref = evaluate(model_path("float64", "pth"), structures.cubic())["energy"]
    flags = open("/proc/cpuinfo").read()
    isas = ["baseline"] + (["avx2"] if " avx2 " in flags and " fma " in flags else []) \
        + (["avx512"] if " avx512f " in flags and " fma " in flags else [])
    for isa in isas:
        work = tmp_path / isa
        work.mkdir()
        energy, out = run0(work, env={"ALLEGRO_ISA": isa})
        assert f"kernels {isa}" in out, out[-2000:]
        assert abs(energy - ref) <= 1e-10 * abs(ref), (isa, energy, ref)
    work = tmp_path / "bogus"
    work.mkdir()
    structures.write_lammps_data(structures.cubic(), work / "data.lmp")
    code, out = run_lammps(work, header("data.lmp", model_path("float64", "pth")) + "run 0\n",
                           check=False, env={"ALLEGRO_ISA": "sse9"})
    assert code != 0 and "ALLEGRO_ISA=sse9: expected avx512, avx2 or baseline" in out, out[-2000:]
