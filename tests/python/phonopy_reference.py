"""phonopy driven by nequip's own ASE calculator: the upstream way to get the phonons that
allegro-phonon computes. Used by tests/python/test_phonon.py and bench/phonon_speed.py."""
import numpy as np


def read_xyz(path):
    """Symbols, cell (rows), positions and masses from the extended XYZ allegro-phonon writes."""
    from ase.io import read

    atoms = read(str(path))
    return atoms


def calculator(model, threads=1):
    import torch
    from nequip.integrations.ase import NequIPCalculator

    torch.set_num_threads(threads)
    return NequIPCalculator.from_compiled_model(str(model), device="cpu",
                                                chemical_species_to_atom_type_map=True)


def phonopy_run(model, atoms, supercell=(2, 2, 2), displacement=0.02, masses=None, threads=1):
    """Force constants with phonopy's symmetry-reduced +- displacements; returns the Phonopy
    object (primitive cell found by phonopy)."""
    from ase import Atoms
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    unit = PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=atoms.cell[:],
                        positions=atoms.positions,
                        masses=masses if masses is not None else atoms.get_masses())
    ph = Phonopy(unit, supercell_matrix=np.diag(supercell), primitive_matrix="auto")
    ph.generate_displacements(distance=displacement, is_plusminus=True)
    calc = calculator(model, threads)
    forces = []
    for sc in ph.supercells_with_displacements:
        a = Atoms(sc.symbols, positions=sc.positions, cell=sc.cell, pbc=True)
        a.calc = calc
        forces.append(a.get_forces())
    ph.forces = np.array(forces)
    ph.produce_force_constants()
    return ph


def frequencies(ph, unit_cell, q_unit):
    """Frequencies (THz, imaginary negative) at q given in reciprocal coordinates of the unit
    cell (rows of unit_cell are its lattice vectors)."""
    q_cart = np.asarray(q_unit) @ np.linalg.inv(np.asarray(unit_cell)).T
    q_prim = q_cart @ np.asarray(ph.primitive.cell).T
    return np.sort(ph.get_frequencies(q_prim))
