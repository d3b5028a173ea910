"""allegro_rs.AllegroCalculator (the torch-free ASE calculator) against nequip's own ASE
calculator on the same .nequip.pth files, finite differences, phonopy vs allegro-phonon, an NEB
driven by nequip, NVE energy conservation, and its errors."""
import importlib.util
import json
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from ase import Atoms
from ase.io import read
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet
from ase import units

from conftest import ROOT
import nequip_reference
import phonopy_reference
import structures
from allegro_rs import AllegroCalculator, AllegroError, InputError, Model, ModelError

MODELS = {name: ROOT / "tests" / "models" / f"allegro_{name}.nequip.pth"
          for name in ("float64", "float32", "l2_float64", "l3_float32", "zbl_float64")}
MODELS["shipped"] = ROOT / "models" / "nawsbs.nequip.pth"
EXAMPLES = ROOT / "docs" / "examples"


def example(name):
    """A script of docs/examples as a module (its main block does not run)."""
    sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def thin_cell():
    """Periodic, every plane spacing (~3.2 A) below the test models' 4 A cutoff."""
    cell = [[3.3, 0.0, 0.0], [0.5, 3.4, 0.0], [0.4, -0.3, 3.6]]
    return Atoms("NaSbS", scaled_positions=[[0, 0, 0], [0.5, 0.45, 0.5], [0.1, 0.6, 0.05]],
                 cell=cell, pbc=True)


def cluster(with_cell):
    """A non-periodic Na3SbS4 fragment: 16 atoms of the cubic cell, open in all directions."""
    atoms = structures.cubic()
    atoms.rattle(0.04, seed=11)
    if not with_cell:
        atoms = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions)
    atoms.pbc = False
    return atoms


def slab():
    """Periodic in x and y, open along z."""
    atoms = structures.w_doped_with_vacancies()
    atoms.pbc = [True, True, False]
    return atoms


STRUCTURES = dict(structures.all_structures(), thin=thin_cell(), cluster=cluster(True),
                  cluster_no_cell=cluster(False), slab=slab())


def tolerance(model):
    return 1e-10 if "float64" in model else 1e-5


@pytest.mark.parametrize("model", sorted(MODELS))
def test_matches_nequip_calculator(model):
    """Energy, per-atom energies, forces and (periodic cells) stress equal nequip's ASE
    calculator: 1e-10 relative for float64 models, 1e-5 for float32, on every structure
    (triclinic, thinner than the cutoff, a cluster with and without a cell, a slab)."""
    path = MODELS[model]
    ours = AllegroCalculator(path)
    theirs = nequip_reference._calculator(str(path))
    rtol = tolerance(model)
    for name, atoms in STRUCTURES.items():
        a, b = atoms.copy(), atoms.copy()
        a.calc, b.calc = ours, theirs
        e, e_ref = a.get_potential_energy(), b.get_potential_energy()
        assert abs(e - e_ref) <= rtol * abs(e_ref), f"{name}: {e} vs {e_ref}"
        f, f_ref = a.get_forces(), b.get_forces()
        scale = np.abs(f_ref).max()
        assert scale > 1e-3, name  # the comparison is not between zeros
        np.testing.assert_allclose(f, f_ref, rtol=0, atol=rtol * scale, err_msg=name)
        ea, ea_ref = a.get_potential_energies(), b.calc.results["energies"]
        np.testing.assert_allclose(ea, ea_ref, rtol=0, atol=rtol * np.abs(ea_ref).max(),
                                   err_msg=name)
        assert a.calc.results["free_energy"] == e
        if all(atoms.pbc):
            s, s_ref = a.get_stress(), b.get_stress()
            np.testing.assert_allclose(s, s_ref, rtol=0, atol=rtol * np.abs(s_ref).max(),
                                       err_msg=name)


def strained_energy(calc, atoms, eps):
    a = atoms.copy()
    a.set_cell(atoms.cell[:] @ (np.eye(3) + eps), scale_atoms=True)
    a.calc = calc
    return a.get_potential_energy()


@pytest.mark.parametrize("name", ["triclinic", "thin", "w_doped_vacancies"])
def test_stress_is_the_strain_derivative(name):
    """stress = (1/V) dE/d(eps) by central differences of symmetric strains (float64 model),
    and the per-atom stresses sum to it; the per-atom energies sum to the energy."""
    atoms = STRUCTURES[name].copy()
    calc = AllegroCalculator(MODELS["float64"])
    atoms.calc = calc
    stress = atoms.get_stress(voigt=False)
    h, fd = 1e-5, np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            eps = np.zeros((3, 3))
            eps[i, j] += 0.5 * h
            eps[j, i] += 0.5 * h
            fd[i, j] = (strained_energy(calc, atoms, eps) - strained_energy(calc, atoms, -eps)) \
                / (2 * h) / atoms.get_volume()
    assert np.abs(stress).max() > 1e-3
    np.testing.assert_allclose(stress, fd, rtol=0, atol=1e-7)
    per_atom = atoms.get_stresses()
    assert per_atom.shape == (len(atoms), 6)
    np.testing.assert_allclose(per_atom.sum(axis=0), atoms.get_stress(), rtol=0, atol=1e-12)
    assert abs(atoms.get_potential_energies().sum() - atoms.get_potential_energy()) < 1e-9


def test_results_are_kept_until_the_atoms_change():
    """ASE's check_state: a second property of the same atoms costs no evaluation; moving an
    atom, changing the cell or the elements does."""
    atoms = structures.cubic()
    calc = AllegroCalculator(MODELS["float64"])
    calls = []
    compute = calc.model.compute
    calc.model = type("Counting", (), {
        "compute": lambda self, *a, **k: calls.append(1) or compute(*a, **k),
        "path": calc.model.path})()
    atoms.calc = calc
    e = atoms.get_potential_energy()
    atoms.get_forces(), atoms.get_stress(), atoms.get_potential_energy()
    assert len(calls) == 1
    atoms.positions[3, 1] += 0.01
    assert atoms.get_potential_energy() != e and len(calls) == 2
    atoms.set_cell(atoms.cell[:] * 1.001, scale_atoms=True)
    atoms.get_forces()
    atoms.symbols[0] = "W"
    atoms.get_forces()
    assert len(calls) == 4


def test_arrays_cross_without_copies():
    """Outputs are numpy views of the engine's buffers (no copy), of the documented shapes."""
    atoms = STRUCTURES["w_doped_vacancies"]
    model = Model(str(MODELS["float64"]))
    types = np.array([model.type_names.index(s) for s in atoms.get_chemical_symbols()], np.int32)
    e, energies, forces, virial, per_atom = model.compute(
        atoms.positions, types, atoms.cell.array, [True] * 3, atom_virials=True)
    n = len(atoms)
    assert energies.shape == (n,) and forces.shape == (n, 3) and virial.shape == (3, 3)
    assert per_atom.shape == (n, 3, 3)
    for array in (energies, forces, virial, per_atom):
        assert not array.flags.owndata and array.base is not None  # memory owned by Rust
    assert abs(energies.sum() - e) < 1e-9
    np.testing.assert_allclose(per_atom.sum(axis=0), virial, rtol=0, atol=1e-10)
    # a Fortran-ordered array is refused with a message, not read in the wrong order
    with pytest.raises(InputError, match="C-contiguous"):
        model.compute(np.asfortranarray(atoms.positions), types, atoms.cell.array, [True] * 3)


def test_phonopy_through_the_calculator_equals_allegro_phonon(tmp_path):
    """docs/examples/ase_phonopy.py (phonopy + AllegroCalculator) on the cell allegro-phonon
    relaxed: every frequency at its special points within 0.01 THz."""
    out, relaxed = tmp_path / "ours.json", tmp_path / "relaxed.xyz"
    subprocess.run([str(ROOT / "target" / "release" / "allegro-phonon"), "--model",
                    str(MODELS["shipped"]), "--structure", "cubic", "--relax", "0.001",
                    "--write-structure", str(relaxed), "--json", str(out), "--dos-mesh", "4"],
                   check=True, capture_output=True)
    ours = json.loads(out.read_text())
    atoms = read(str(relaxed))
    atoms.set_masses(ours["masses_amu"])
    module = example("ase_phonopy")
    ph = module.force_constants(MODELS["shipped"], atoms)
    worst = 0.0
    for point in ours["special_points"]:
        mine = np.asarray(point["frequencies_thz"])
        theirs = module.frequencies_at(ph, ours["unit_cell_a"], point["q"])
        assert mine.shape == theirs.shape
        worst = max(worst, np.abs(mine - theirs).max())
    assert worst < 0.01, f"largest difference {worst:.4f} THz"
    print(f"phonopy via AllegroCalculator vs allegro-phonon: {worst:.2e} THz at most")


def test_neb_barrier_equals_nequip_neb():
    """docs/examples/ase_neb.py's NEB of a Na vacancy hop in the shipped model gives the barrier
    of the same NEB driven by nequip's calculator within 1 meV (a smaller cell and band than the
    example's default, for time)."""
    module = example("ase_neb")
    size = dict(reps=(1, 1, 2), images=3)
    ours = module.na_vacancy_neb(lambda: AllegroCalculator(MODELS["shipped"]), **size)
    theirs = module.na_vacancy_neb(lambda: phonopy_reference.calculator(MODELS["shipped"]),
                                   **size)
    assert ours["converged"] and theirs["converged"]
    assert 2.0 < ours["hop_length"] < 4.0
    assert ours["barrier"] > 0.005
    assert abs(ours["barrier"] - theirs["barrier"]) < 1e-3, (ours["barrier"], theirs["barrier"])
    print(f"barrier {ours['barrier']:.4f} eV (nequip {theirs['barrier']:.4f} eV)")


def test_nve_conserves_energy():
    """ASE VelocityVerlet, 1 fs, 2 ps at 600 K on the W-doped cell (float64 model): the bounds of
    the LAMMPS NVE test (tests/python/test_nve.py): drift < 2e-5 eV/atom/ps, spread < 1e-3."""
    atoms = structures.w_doped_with_vacancies()
    atoms.calc = AllegroCalculator(MODELS["float64"])
    thermalize_momenta(atoms, 600.0, rng=np.random.default_rng(87287))
    Stationary(atoms)
    dyn = VelocityVerlet(atoms, 1.0 * units.fs)
    times, totals, temps = [], [], []

    def record():
        times.append(dyn.get_time() / (1000 * units.fs))
        totals.append(atoms.get_total_energy() / len(atoms))
        temps.append(atoms.get_temperature())

    dyn.attach(record, interval=10)
    dyn.run(2000)
    slope = np.polyfit(times, totals, 1)[0]
    spread = max(totals) - min(totals)
    assert np.mean(temps) > 150
    assert abs(slope) < 2e-5, f"drift {slope:.3e} eV/atom/ps"
    assert spread < 1e-3, f"E_total fluctuates by {spread:.3e} eV/atom"
    print(f"ASE NVE drift {slope:.3e} eV/atom/ps, fluctuation {spread:.3e} eV/atom")


def test_errors_are_exceptions_with_the_library_message(tmp_path):
    corrupt = tmp_path / "broken.nequip.pth"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip archive")
    with pytest.raises(ModelError, match="is not a deployed nequip model"):
        AllegroCalculator(corrupt)
    with pytest.raises(ModelError, match="cannot read model file"):
        AllegroCalculator(tmp_path / "missing.nequip.pth")
    (tmp_path / "model.txt").write_text("x")
    with pytest.raises(ModelError, match="unsupported extension"):
        AllegroCalculator(tmp_path / "model.txt")
    with pytest.raises(InputError, match="threads must be at least 1"):
        AllegroCalculator(MODELS["float64"], threads=0)
    with pytest.raises(InputError, match="unknown backend 'gpu'"):
        AllegroCalculator(MODELS["float64"], backend="gpu")
    with pytest.raises(ModelError, match="without the `torch` feature"):
        AllegroCalculator(MODELS["float64"], backend="torch")
    with pytest.raises(InputError, match="which the model lacks"):
        AllegroCalculator(MODELS["float64"], type_map={"Na": "Sodium"})
    calc = AllegroCalculator(MODELS["float64"])

    def evaluate(atoms):
        atoms.calc = calc
        return atoms.get_forces()

    atoms = structures.cubic()
    atoms.symbols[5] = "Cl"
    with pytest.raises(InputError, match=r"element Cl \(atom 5\) is not in the model "
                                         r"allegro_float64.nequip.pth, which knows Na, S, Sb, W"):
        evaluate(atoms)
    atoms = structures.cubic()
    atoms.positions[7] = atoms.positions[3] + 1e-4
    with pytest.raises(InputError, match="overlapping atoms"):
        evaluate(atoms)
    atoms = structures.cubic()
    atoms.positions[2, 1] = np.nan
    with pytest.raises(InputError, match="atom 2 has a non-finite position"):
        evaluate(atoms)
    atoms = structures.cubic()
    atoms.cell[2] = [0.0, 0.0, 0.3]
    with pytest.raises(InputError, match="lattice vector 3"):
        evaluate(atoms)
    assert issubclass(InputError, AllegroError) and issubclass(ModelError, AllegroError)
    # after the errors the calculator still works and gives the reference numbers
    atoms = structures.cubic()
    np.testing.assert_allclose(evaluate(atoms), nequip_reference.evaluate(MODELS["float64"], atoms)["forces"],
                               rtol=0, atol=1e-10)


def test_gil_is_released_during_the_computation():
    """A Python thread keeps running while the engine evaluates 8,192 atoms: it counts many
    iterations between the start and the end of a single get_forces call."""
    atoms = structures.cubic((8, 8, 8))
    atoms.calc = AllegroCalculator(MODELS["float64"])
    stamps, stop = [], threading.Event()

    def spin():
        while not stop.is_set():
            stamps.append(time.perf_counter())

    worker = threading.Thread(target=spin)
    worker.start()
    try:
        start = time.perf_counter()
        atoms.get_forces()
        end = time.perf_counter()
    finally:
        stop.set()
        worker.join()
    inside = sum(start < s < end for s in stamps)
    # with the GIL held the thread would run once per switch interval at most (5 ms)
    held_at_most = (end - start) / sys.getswitchinterval() + 2
    assert inside > 20 * held_at_most, (inside, end - start)


def test_relax_example_ends_where_nequip_sees_no_force_or_stress():
    """docs/examples/ase_relax.py: the cell it relaxes has, by nequip's own calculator, forces
    below 0.005 eV/A and stresses below 1e-4 eV/A^3 (the shipped model, float32)."""
    r = example("ase_relax").relax(MODELS["shipped"])
    assert r["converged"] and r["max_force"] < 0.005
    check = nequip_reference.evaluate(MODELS["shipped"], r["atoms"])
    assert np.abs(check["forces"]).max() < 0.005 + 1e-4
    assert np.abs(check["stress"]).max() < 1e-4
    assert 7.0 < r["a"] < 7.4


def test_md_example_runs_as_a_script():
    """docs/examples/ase_md.py as a user runs it: 1 ps of Langevin MD; its first line's
    potential energy is nequip's for the same cell, and the run stays near 600 K."""
    out = subprocess.run([sys.executable, str(EXAMPLES / "ase_md.py"), str(MODELS["shipped"])],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout.splitlines()
    assert len(out) == 11
    first = float(out[0].split("E_pot =")[1].split()[0])
    reference = nequip_reference.evaluate(MODELS["shipped"], example("ase_md").doped_cell())
    assert abs(first - reference["energy"] / 126) < 1.5e-4, (first, reference["energy"] / 126)
    temperatures = [float(line.split("T =")[1].split()[0]) for line in out]
    assert 350 < np.mean(temperatures[1:]) < 850
