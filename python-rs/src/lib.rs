//! `allegro_rs._native`: the engine behind the ASE calculator (`python/allegro_rs`).
//!
//! One class, `Model`: load a deployed `.nequip.pth`, evaluate a cell (periodic, open or
//! mixed) and hand back energies, forces and virials as numpy arrays. Inputs are read in place
//! when they are C-contiguous (ASE's arrays are); outputs are moved into numpy, not copied.
//! The GIL is released while the model runs, and no panic reaches Python: it becomes an
//! `AllegroError` like every other failure.
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Mutex;

use allegro::{BackendChoice, Cell, CellOutput, Error, LoadOptions, ModelDtype};
use numpy::ndarray::{self, Array1, Array2, Array3};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArray3, PyReadonlyArray, PyReadonlyArray1, PyReadonlyArray2,
    PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    allegro_rs,
    AllegroError,
    PyException,
    "An allegro-rs failure; the message is the library's one line saying what is wrong."
);
create_exception!(
    allegro_rs,
    ModelError,
    AllegroError,
    "The model file cannot be read or run (missing, damaged, not a deployed model)."
);
create_exception!(
    allegro_rs,
    InputError,
    AllegroError,
    "The atoms cannot be evaluated (unknown element, overlapping atoms, NaN, bad cell)."
);

fn to_py(e: Error) -> PyErr {
    let message = e.to_string();
    match e {
        Error::Input(_) => InputError::new_err(message),
        Error::Backend(_) => AllegroError::new_err(message),
        _ => ModelError::new_err(message),
    }
}

/// numpy arrays are read in place, so they must be C-ordered (ASE's are): a Fortran-ordered
/// array is contiguous too, and would be read transposed.
fn c_order<'a, T: numpy::Element, D: numpy::ndarray::Dimension>(
    array: &'a PyReadonlyArray<'_, T, D>,
    what: &str,
) -> PyResult<&'a [T]> {
    match array.as_slice() {
        Ok(slice) if array.is_c_contiguous() => Ok(slice),
        _ => Err(InputError::new_err(format!(
            "invalid input: {what} must be a C-contiguous array (numpy.ascontiguousarray)"
        ))),
    }
}

/// Runs `f`, turning a panic into an `AllegroError` (an engine bug, never the user's).
fn no_panic<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Err(AllegroError::new_err(format!(
            "internal error in the allegro-rs engine ({what}); please report it"
        )))
    })
}

/// A deployed Allegro/NequIP model (`.nequip.pth`) on the native engine.
///
/// `Model(path, backend="auto", threads=1)`; `backend` is "auto" or "native" in this torch-free
/// build ("torch" needs the libtorch build of the library).
#[pyclass(module = "allegro_rs._native", name = "Model")]
struct Model {
    /// The engine keeps per-call scratch space, so calls on one model take turns.
    inner: Mutex<allegro::Model>,
    path: PathBuf,
}

type Results<'py> = (
    f64,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray2<f64>>,
    Option<Bound<'py, PyArray3<f64>>>,
);

#[pymethods]
impl Model {
    #[new]
    #[pyo3(signature = (path, backend = "auto", threads = 1))]
    fn new(py: Python<'_>, path: PathBuf, backend: &str, threads: usize) -> PyResult<Model> {
        let backend: BackendChoice = backend.parse().map_err(to_py)?;
        let options = LoadOptions {
            backend,
            threads,
            ..LoadOptions::default()
        };
        let model =
            py.detach(|| no_panic(|| allegro::Model::load_with(&path, options).map_err(to_py)))?;
        Ok(Model {
            inner: Mutex::new(model),
            path,
        })
    }

    /// The model's type names, in type-index order (chemical symbols for the usual models).
    #[getter]
    fn type_names(&self) -> Vec<String> {
        self.lock().metadata().type_names.clone()
    }

    /// The largest cutoff of the model (Angstrom).
    #[getter]
    fn r_max(&self) -> f64 {
        self.lock().metadata().r_max
    }

    /// "float32" or "float64": the precision the model was deployed in.
    #[getter]
    fn dtype(&self) -> &'static str {
        match self.lock().metadata().dtype {
            ModelDtype::Float32 => "float32",
            ModelDtype::Float64 => "float64",
        }
    }

    /// The engine evaluating the model ("native", or a libtorch backend).
    #[getter]
    fn backend(&self) -> &'static str {
        self.lock().backend().name()
    }

    /// Why the model runs on its backend (one line).
    #[getter]
    fn backend_reason(&self) -> String {
        self.lock().backend_reason().to_owned()
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Model('{}', backend='{}')",
            self.path.display(),
            self.backend()
        )
    }

    /// Evaluates one configuration.
    ///
    /// positions: (N, 3) float64, Angstrom; types: (N,) int32 model type indices;
    /// cell: (3, 3) float64, rows are the lattice vectors (ignored along open directions);
    /// pbc: three booleans; atom_virials: also return the per-atom virials.
    ///
    /// Returns (energy eV, energies (N,) eV, forces (N, 3) eV/A, virial (3, 3) eV,
    /// per-atom virials (N, 3, 3) eV or None). The virial is W = sum r (x) F (LAMMPS' sign:
    /// ASE's stress is -W / volume); per-atom virials sum to it.
    #[pyo3(signature = (positions, types, cell, pbc, atom_virials = false))]
    fn compute<'py>(
        &self,
        py: Python<'py>,
        positions: PyReadonlyArray2<'py, f64>,
        types: PyReadonlyArray1<'py, i32>,
        cell: PyReadonlyArray2<'py, f64>,
        pbc: [bool; 3],
        atom_virials: bool,
    ) -> PyResult<Results<'py>> {
        let shape = positions.shape();
        if shape.len() != 2 || shape[1] != 3 {
            return Err(InputError::new_err(format!(
                "invalid input: positions must have shape (N, 3), got {shape:?}"
            )));
        }
        let xyz = c_order(&positions, "positions")?;
        let (positions, _) = xyz.as_chunks::<3>();
        let types = c_order(&types, "types")?;
        if cell.shape() != [3, 3] {
            return Err(InputError::new_err(format!(
                "invalid input: the cell must have shape (3, 3), got {:?}",
                cell.shape()
            )));
        }
        let c = c_order(&cell, "cell")?;
        let cell = [[c[0], c[1], c[2]], [c[3], c[4], c[5]], [c[6], c[7], c[8]]];
        // Owned copies, so that the GIL can go while the model runs.
        let (positions, types) = (positions.to_vec(), types.to_vec());
        let n = positions.len();
        let out = py.detach(|| {
            no_panic(|| {
                let cell = Cell {
                    lattice: cell,
                    pbc,
                    positions: &positions,
                    types: &types,
                };
                let mut model = self.lock();
                if atom_virials {
                    model.compute_periodic_with_atom_virial(&cell)
                } else {
                    model.compute_periodic(&cell)
                }
                .map_err(to_py)
            })
        })?;
        let CellOutput {
            energy,
            atom_energy: energies,
            forces,
            virial,
            atom_virial: per_atom,
        } = out;
        let shaped = |e: ndarray::ShapeError| AllegroError::new_err(e.to_string());
        let forces = Array2::from_shape_vec((n, 3), forces.into_flattened()).map_err(shaped)?;
        let virial = Array2::from_shape_vec((3, 3), virial.to_vec()).map_err(shaped)?;
        let per_atom = per_atom
            .map(|v| Array3::from_shape_vec((n, 3, 3), v.into_flattened()).map_err(shaped))
            .transpose()?;
        Ok((
            energy,
            Array1::from_vec(energies).into_pyarray(py),
            forces.into_pyarray(py),
            virial.into_pyarray(py),
            per_atom.map(|v| v.into_pyarray(py)),
        ))
    }
}

impl Model {
    fn lock(&self) -> std::sync::MutexGuard<'_, allegro::Model> {
        // A panic inside a call is turned into an error; the model it interrupted is still a
        // valid model (its scratch is rebuilt on every call), so a poisoned lock is taken over.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The engine's version (the Rust library's).
#[pyfunction]
fn version() -> &'static str {
    allegro::VERSION
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add("AllegroError", m.py().get_type::<AllegroError>())?;
    m.add("ModelError", m.py().get_type::<ModelError>())?;
    m.add("InputError", m.py().get_type::<InputError>())?;
    Ok(())
}
