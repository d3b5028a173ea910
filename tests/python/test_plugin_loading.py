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
