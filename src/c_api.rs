//! C ABI for the LAMMPS plugin and other C/C++ hosts (header: `cpp/include/allegro.h`, generated
//! by cbindgen, checked by `tests/c_header.rs`).
//!
//! Conventions: functions return `allegro_status_t`; on failure the message is available from
//! `allegro_last_error()` (per thread) until the next failing call. Constructors return NULL on
//! failure. `allegro_model_free(NULL)` does nothing. No Rust panic and no C++ exception crosses
//! this boundary: every body runs inside `catch_unwind`, libtorch errors are converted by tch/cxx.
#![allow(non_camel_case_types)]
// Every unsafe operation in its own block, with the reason it is sound.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::Error;
use crate::model::{Backend, BackendChoice, LoadOptions, Model, ModelDtype, NeighbourList, System};
use crate::native::Isa;

/// Status code of every fallible function (more may be added: treat unknown non-zero codes as
/// failures).
#[repr(i32)]
#[must_use]
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum allegro_status_t {
    /// The call did what it was asked.
    ALLEGRO_SUCCESS = 0,
    /// A NULL pointer, a size that does not match, an index out of range.
    ALLEGRO_INVALID_PARAMETER = 1,
    /// A file could not be read.
    ALLEGRO_IO_ERROR = 2,
    /// The model file is not a usable model, or its evaluation failed.
    ALLEGRO_MODEL_ERROR = 3,
    /// A bug in this library (a caught panic).
    ALLEGRO_INTERNAL_ERROR = 255,
}
use allegro_status_t::*;

/// Which engine evaluates a model (see `allegro_model_load_with`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum allegro_backend_t {
    /// The native engine when it supports the model, else libtorch when built in.
    ALLEGRO_BACKEND_AUTO = 0,
    /// The native Rust engine (`.nequip.pth` only).
    ALLEGRO_BACKEND_NATIVE = 1,
    /// libtorch: TorchScript (`.nequip.pth`) or AOTInductor (`.nequip.pt2`).
    ALLEGRO_BACKEND_TORCH = 2,
}

/// An opaque loaded model. One per thread; not safe to use from two threads at once.
pub struct allegro_model_t {
    model: Model,
    type_names: Vec<CString>,
    backend_reason: CString,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

fn status_of(error: &Error) -> allegro_status_t {
    match error {
        Error::Input(_) => ALLEGRO_INVALID_PARAMETER,
        Error::Io { .. } => ALLEGRO_IO_ERROR,
        _ => ALLEGRO_MODEL_ERROR,
    }
}

/// Runs `body`, turning errors and panics into a status and the last-error message.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Error>) -> allegro_status_t {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => ALLEGRO_SUCCESS,
        Ok(Err(e)) => {
            set_last_error(&e.to_string());
            status_of(&e)
        }
        Err(panic) => {
            let text = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!(
                "internal error in allegro (please report): {text}"
            ));
            ALLEGRO_INTERNAL_ERROR
        }
    }
}

fn null_error(name: &str) -> Error {
    Error::Input(format!("{name} is NULL"))
}

/// Borrows a C array, checking the pointer unless the length is 0.
unsafe fn slice<'a, T>(ptr: *const T, len: usize, name: &str) -> Result<&'a [T], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(null_error(name));
    }
    // SAFETY: non-NULL, and the caller promises `len` valid elements.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize, name: &str) -> Result<&'a mut [T], Error> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(null_error(name));
    }
    // SAFETY: non-NULL, and the caller promises `len` valid, unaliased elements.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

unsafe fn model_ref<'a>(model: *const allegro_model_t) -> Result<&'a allegro_model_t, Error> {
    // SAFETY: the caller promises NULL or a live model from `allegro_model_load`.
    unsafe { model.as_ref() }.ok_or_else(|| null_error("model"))
}

/// Writes the static string `f` gives for `model` into `*name`.
///
/// # Safety
/// Pointers must be NULL or valid.
unsafe fn static_name(
    model: *const allegro_model_t,
    name: *mut *const c_char,
    f: impl FnOnce(&Model) -> &'static CStr,
) -> allegro_status_t {
    guard(|| {
        // SAFETY: the caller promises NULL or valid pointers.
        let (model, out) = unsafe { (model_ref(model)?, name.as_mut()) };
        *out.ok_or_else(|| null_error("name"))? = f(&model.model).as_ptr();
        Ok(())
    })
}

/// Version of the library.
///
/// @return A static string, e.g. "0.1.0"; compare it with `ALLEGRO_VERSION` from this header.
#[no_mangle]
pub extern "C" fn allegro_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

/// Message of the last failure on this thread.
///
/// @return One line naming what was wrong (empty if nothing failed yet), valid until the next
///         failure on this thread.
#[no_mangle]
pub extern "C" fn allegro_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Loads a model with the auto backend and 1 thread.
///
/// @param path  A `.nequip.pth` or `.nequip.pt2` file (NUL-terminated).
/// @return The model, to be freed with `allegro_model_free`; NULL on failure, with the reason
///         in `allegro_last_error()`.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn allegro_model_load(path: *const c_char) -> *mut allegro_model_t {
    // SAFETY: the same promise as this function's.
    unsafe { allegro_model_load_with(path, allegro_backend_t::ALLEGRO_BACKEND_AUTO as i32, 1) }
}

/// Loads a model with a choice of backend and threads.
///
/// @param path     A `.nequip.pth` or `.nequip.pt2` file (NUL-terminated).
/// @param backend  An `allegro_backend_t` value; any other number is an error.
/// @param threads  Threads of the native engine, >= 1 (the libtorch backends use
///                 `allegro_set_threads`).
/// @return The model, to be freed with `allegro_model_free`; NULL on failure, with the reason
///         in `allegro_last_error()`.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn allegro_model_load_with(
    path: *const c_char,
    backend: i32,
    threads: i32,
) -> *mut allegro_model_t {
    let mut result = std::ptr::null_mut();
    let status = guard(|| {
        if path.is_null() {
            return Err(null_error("path"));
        }
        // SAFETY: non-NULL, and the caller promises a NUL-terminated string.
        let path = unsafe { CStr::from_ptr(path) }
            .to_str()
            .map_err(|_| Error::Input("path is not valid UTF-8".into()))?;
        if threads < 1 {
            return Err(Error::Input(format!("thread count {threads} is below 1")));
        }
        // An int, not the enum: a C caller can pass any value, which must not be undefined.
        use allegro_backend_t::*;
        let backend = match backend {
            b if b == ALLEGRO_BACKEND_AUTO as i32 => BackendChoice::Auto,
            b if b == ALLEGRO_BACKEND_NATIVE as i32 => BackendChoice::Native,
            b if b == ALLEGRO_BACKEND_TORCH as i32 => BackendChoice::Torch,
            other => {
                return Err(Error::Input(format!(
                "backend {other} is none of ALLEGRO_BACKEND_AUTO (0), ALLEGRO_BACKEND_NATIVE (1), \
                     ALLEGRO_BACKEND_TORCH (2)"
            )))
            }
        };
        let options = LoadOptions {
            backend,
            threads: threads as usize,
            ..LoadOptions::default()
        };
        let model = Model::load_with(path, options)?;
        let type_names = model
            .metadata()
            .type_names
            .iter()
            .map(|t| CString::new(t.as_str()).unwrap_or_default())
            .collect();
        let backend_reason = CString::new(model.backend_reason()).unwrap_or_default();
        result = Box::into_raw(Box::new(allegro_model_t {
            model,
            type_names,
            backend_reason,
        }));
        Ok(())
    });
    if status != ALLEGRO_SUCCESS {
        return std::ptr::null_mut();
    }
    result
}

/// The engine evaluating the model.
///
/// @param model  A loaded model.
/// @param name   Receives "native", "torchscript" or "aoti" (a static string).
/// @return ALLEGRO_SUCCESS, or ALLEGRO_INVALID_PARAMETER for a NULL pointer.
///
/// # Safety
/// Pointers must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn allegro_model_backend(
    model: *const allegro_model_t,
    name: *mut *const c_char,
) -> allegro_status_t {
    // SAFETY: the same promise as this function's.
    unsafe {
        static_name(model, name, |model| match model.backend() {
            Backend::Native => c"native",
            Backend::TorchScript => c"torchscript",
            Backend::Aoti => c"aoti",
        })
    }
}

/// Why the model runs on its backend.
///
/// @param model   A loaded model.
/// @param reason  Receives one line: "requested", or what `backend auto` found (valid while the
///                model lives).
/// @return ALLEGRO_SUCCESS, or ALLEGRO_INVALID_PARAMETER for a NULL pointer.
///
/// # Safety
/// Pointers must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn allegro_model_backend_reason(
    model: *const allegro_model_t,
    reason: *mut *const c_char,
) -> allegro_status_t {
    guard(|| {
        // SAFETY: the caller promises NULL or valid pointers.
        let (model, out) = unsafe { (model_ref(model)?, reason.as_mut()) };
        let out = out.ok_or_else(|| null_error("reason"))?;
        *out = model.backend_reason.as_ptr();
        Ok(())
    })
}

/// The instruction set of the native engine's kernels for this model.
///
/// @param model  A loaded model.
/// @param name   Receives "avx512", "avx2" or "baseline" (`ALLEGRO_ISA` may lower it), or
///               "libtorch" on the libtorch backends (a static string).
/// @return ALLEGRO_SUCCESS, or ALLEGRO_INVALID_PARAMETER for a NULL pointer.
///
/// # Safety
/// Pointers must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn allegro_model_kernels(
    model: *const allegro_model_t,
    name: *mut *const c_char,
) -> allegro_status_t {
    // SAFETY: the same promise as this function's.
    unsafe {
        static_name(model, name, |model| match model.isa() {
            Some(Isa::Avx512) => c"avx512",
            Some(Isa::Avx2) => c"avx2",
            Some(Isa::Baseline) => c"baseline",
            None => c"libtorch",
        })
    }
}

/// The model's floating-point precision.
///
/// @param model  A loaded model.
/// @param name   Receives "float32" or "float64" (a static string).
/// @return ALLEGRO_SUCCESS, or ALLEGRO_INVALID_PARAMETER for a NULL pointer.
///
/// # Safety
/// Pointers must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn allegro_model_dtype(
    model: *const allegro_model_t,
    name: *mut *const c_char,
) -> allegro_status_t {
    // SAFETY: the same promise as this function's.
    unsafe {
        static_name(model, name, |model| match model.metadata().dtype {
            ModelDtype::Float32 => c"float32",
            ModelDtype::Float64 => c"float64",
        })
    }
}

/// Frees a model.
///
/// @param model  A model from `allegro_model_load*`, or NULL (which does nothing).
/// @return ALLEGRO_SUCCESS.
///
/// # Safety
/// `model` must be NULL or come from `allegro_model_load`, and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn allegro_model_free(model: *mut allegro_model_t) -> allegro_status_t {
    guard(|| {
        if !model.is_null() {
            // SAFETY: the caller promises a model from `allegro_model_load`, not used again.
            drop(unsafe { Box::from_raw(model) });
        }
        Ok(())
    })
}

/// Largest cutoff of the model.
///
/// @param model  A loaded model.
/// @param r_max  Receives the cutoff in Angstrom.
/// @return ALLEGRO_SUCCESS, or ALLEGRO_INVALID_PARAMETER for a NULL pointer.
///
/// # Safety
/// Pointers must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn allegro_model_r_max(
    model: *const allegro_model_t,
    r_max: *mut f64,
) -> allegro_status_t {
    guard(|| {
        // SAFETY: the caller promises NULL or valid pointers.
        let (model, out) = unsafe { (model_ref(model)?, r_max.as_mut()) };
        *out.ok_or_else(|| null_error("r_max"))? = model.model.metadata().r_max;
        Ok(())
    })
}

/// Number of model types (chemical species).
///
/// @param model      A loaded model.
/// @param num_types  Receives the number of types.
/// @return ALLEGRO_SUCCESS, or ALLEGRO_INVALID_PARAMETER for a NULL pointer.
///
/// # Safety
/// Pointers must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn allegro_model_num_types(
    model: *const allegro_model_t,
    num_types: *mut usize,
) -> allegro_status_t {
    guard(|| {
        // SAFETY: the caller promises NULL or valid pointers.
        let (model, out) = unsafe { (model_ref(model)?, num_types.as_mut()) };
        *out.ok_or_else(|| null_error("num_types"))? = model.type_names.len();
        Ok(())
    })
}

/// Name of a model type.
///
/// @param model  A loaded model.
/// @param index  Type index, 0 .. num_types - 1.
/// @param name   Receives the name (e.g. "Na"); the string lives as long as the model.
/// @return ALLEGRO_SUCCESS, or ALLEGRO_INVALID_PARAMETER for a NULL pointer or an index out of
///         range.
///
/// # Safety
/// Pointers must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn allegro_model_type_name(
    model: *const allegro_model_t,
    index: usize,
    name: *mut *const c_char,
) -> allegro_status_t {
    guard(|| {
        // SAFETY: the caller promises NULL or valid pointers.
        let (model, out) = unsafe { (model_ref(model)?, name.as_mut()) };
        let out = out.ok_or_else(|| null_error("name"))?;
        let n = model.type_names.len();
        let c = model
            .type_names
            .get(index)
            .ok_or_else(|| Error::Input(format!("type index {index} is outside 0..{n}")))?;
        *out = c.as_ptr();
        Ok(())
    })
}

/// Cutoff of every pair of types.
///
/// @param model    A loaded model.
/// @param cutoffs  Receives the matrix, row-major `num_types x num_types`,
///                 [centre type][neighbour type], Angstrom.
/// @param len      Length of `cutoffs`: must be num_types^2.
/// @return ALLEGRO_SUCCESS, or ALLEGRO_INVALID_PARAMETER for a NULL pointer or a wrong `len`.
///
/// # Safety
/// `cutoffs` must be NULL or point to `len` doubles.
#[no_mangle]
pub unsafe extern "C" fn allegro_model_cutoffs(
    model: *const allegro_model_t,
    cutoffs: *mut f64,
    len: usize,
) -> allegro_status_t {
    guard(|| {
        // SAFETY: the caller promises NULL or a valid model.
        let model = unsafe { model_ref(model)? };
        let values = &model.model.metadata().cutoffs;
        if len != values.len() {
            return Err(Error::Input(format!(
                "cutoff buffer has {len} entries, expected num_types^2 = {}",
                values.len()
            )));
        }
        // SAFETY: the caller promises `len` doubles.
        unsafe { slice_mut(cutoffs, len, "cutoffs")? }.copy_from_slice(values);
        Ok(())
    })
}

/// Sets the number of threads of the libtorch backends for this process.
///
/// @param threads  Threads, >= 1 (default 1; keep threads x MPI ranks <= cores).
/// @return ALLEGRO_SUCCESS, or ALLEGRO_INVALID_PARAMETER for a count below 1.
#[no_mangle]
pub extern "C" fn allegro_set_threads(threads: i32) -> allegro_status_t {
    guard(|| {
        if threads < 1 {
            return Err(Error::Input(format!("thread count {threads} is below 1")));
        }
        crate::model::set_threads(threads as usize);
        Ok(())
    })
}

/// Evaluates the model on `n_local` local atoms followed by `n_total - n_local` ghosts.
///
/// Outputs are overwritten, not accumulated.
///
/// @param model          A loaded model.
/// @param n_local        Local atoms: they own energy and are the centres of edges.
/// @param n_total        Local plus ghost atoms.
/// @param positions      n_total x 3 positions, Angstrom.
/// @param types          n_total model type indices.
/// @param neigh_offsets  n_local + 1 offsets: the neighbours of local atom `i` are
///                       `neigh_indices[neigh_offsets[i] .. neigh_offsets[i+1]]`.
/// @param neigh_indices  Neighbour indices into 0 .. n_total (pairs beyond the model's
///                       per-type cutoff are dropped here).
/// @param atom_energy    Out: n_local energies, eV.
/// @param forces         Out: n_total x 3 forces, eV/A, ghosts included (the host sums them
///                       back onto their owners).
/// @param virial         Out: 3 x 3 row-major virial W = sum r (x) f, eV; may be NULL.
/// @param atom_virial    Out: n_total x 9, a row-major 3 x 3 virial per atom, ghosts included,
///                       eV (each edge's `-r (x) dE/dr` split equally between its atoms); may
///                       be NULL; only the native backend computes it, the others fail when it
///                       is not NULL.
/// @return ALLEGRO_SUCCESS; ALLEGRO_INVALID_PARAMETER for inconsistent sizes, NULL pointers or
///         unusable positions (overlapping atoms); ALLEGRO_MODEL_ERROR when the evaluation
///         fails; ALLEGRO_INTERNAL_ERROR for a bug. The reason is in `allegro_last_error()`.
///
/// # Safety
/// Every pointer must be valid for the sizes above (NULL is allowed where a size is 0).
#[no_mangle]
pub unsafe extern "C" fn allegro_model_compute(
    model: *mut allegro_model_t,
    n_local: usize,
    n_total: usize,
    positions: *const f64,
    types: *const i32,
    neigh_offsets: *const i64,
    neigh_indices: *const i32,
    atom_energy: *mut f64,
    forces: *mut f64,
    virial: *mut f64,
    atom_virial: *mut f64,
) -> allegro_status_t {
    guard(|| {
        // SAFETY: the caller promises NULL or a live model, used by this thread only.
        let model = &mut unsafe { model.as_mut() }
            .ok_or_else(|| null_error("model"))?
            .model;
        if n_local > n_total {
            return Err(Error::Input(format!(
                "n_local {n_local} is larger than n_total {n_total}"
            )));
        }
        // Sizes from the caller's counts, checked so that no product wraps around.
        let size = |n: usize, per: usize, what: &str| {
            n.checked_mul(per)
                .ok_or_else(|| Error::Input(format!("{what}: {n} x {per} overflows")))
        };
        let (n3, n9, n_off) = (
            size(n_total, 3, "positions")?,
            size(n_total, 9, "atom_virial")?,
            size(n_local, 1, "neigh_offsets")?
                .checked_add(1)
                .ok_or_else(|| Error::Input(format!("n_local {n_local} overflows")))?,
        );
        // SAFETY: the caller promises arrays of the documented sizes.
        let offsets = unsafe { slice(neigh_offsets, n_off, "neigh_offsets")? };
        let n_edges = usize::try_from(offsets[n_local]).map_err(|_| {
            Error::Input(format!(
                "neigh_offsets[n_local] = {} is negative",
                offsets[n_local]
            ))
        })?;
        // SAFETY: as above.
        let (positions, types, indices, atom_energy, forces) = unsafe {
            (
                slice(positions, n3, "positions")?,
                slice(types, n_total, "types")?,
                slice(neigh_indices, n_edges, "neigh_indices")?,
                slice_mut(atom_energy, n_local, "atom_energy")?,
                slice_mut(forces, n3, "forces")?,
            )
        };
        let system = System {
            positions: positions.as_chunks::<3>().0,
            types,
            n_local,
            neighbours: NeighbourList { offsets, indices },
        };
        let mut w = [0.0; 9];
        let atom_virial = if atom_virial.is_null() {
            None
        } else {
            // SAFETY: non-NULL, so the caller promises 9 x n_total doubles.
            let av = unsafe { slice_mut(atom_virial, n9, "atom_virial")? };
            Some(av.as_chunks_mut::<9>().0)
        };
        model.compute_into(
            &system,
            atom_energy,
            forces.as_chunks_mut::<3>().0,
            &mut w,
            atom_virial,
        )?;
        if !virial.is_null() {
            // SAFETY: non-NULL, so the caller promises 9 doubles.
            unsafe { std::slice::from_raw_parts_mut(virial, 9) }.copy_from_slice(&w);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_error() -> String {
        // SAFETY: the library's own NUL-terminated string.
        unsafe { CStr::from_ptr(allegro_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn panic_becomes_internal_error() {
        let status = guard(|| panic!("boom"));
        assert_eq!(status, ALLEGRO_INTERNAL_ERROR);
        assert!(last_error().contains("boom"), "{}", last_error());
    }

    #[test]
    fn null_and_bad_paths() {
        // SAFETY: NULL, or pointers to live locals of the right sizes.
        unsafe {
            assert!(allegro_model_load(std::ptr::null()).is_null());
            assert_eq!(last_error(), "invalid input: path is NULL");
            let missing = CString::new("/nonexistent/model.nequip.pth").unwrap();
            assert!(allegro_model_load(missing.as_ptr()).is_null());
            assert!(
                last_error().contains("/nonexistent/model.nequip.pth"),
                "{}",
                last_error()
            );
            let mut r = 0.0;
            assert_eq!(
                allegro_model_r_max(std::ptr::null(), &mut r),
                ALLEGRO_INVALID_PARAMETER
            );
            assert_eq!(last_error(), "invalid input: model is NULL");
            assert_eq!(allegro_model_free(std::ptr::null_mut()), ALLEGRO_SUCCESS);
            assert_eq!(allegro_set_threads(0), ALLEGRO_INVALID_PARAMETER);
            let status = allegro_model_compute(
                std::ptr::null_mut(),
                0,
                0,
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
            assert_eq!(status, ALLEGRO_INVALID_PARAMETER);
            let model = CString::new("/nonexistent/model.nequip.pth").unwrap();
            assert!(allegro_model_load_with(
                model.as_ptr(),
                allegro_backend_t::ALLEGRO_BACKEND_NATIVE as i32,
                0
            )
            .is_null());
            assert_eq!(last_error(), "invalid input: thread count 0 is below 1");
        }
    }

    /// A backend number outside the enum, counts whose byte sizes overflow, a negative edge
    /// count, and a thread count beyond the machine: clear errors, no undefined behaviour.
    #[test]
    fn out_of_range_arguments_are_refused() {
        let model = CString::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/models/allegro_float64.nequip.pth"
        ))
        .unwrap();
        // SAFETY: a valid path; NULL or live locals of the right sizes below.
        unsafe {
            assert!(allegro_model_load_with(model.as_ptr(), 7, 1).is_null());
            assert!(
                last_error().contains("backend 7 is none of"),
                "{}",
                last_error()
            );
            assert!(allegro_model_load_with(model.as_ptr(), 1, 1 << 20).is_null());
            assert!(
                last_error().contains("cores of this machine"),
                "{}",
                last_error()
            );
            let m = allegro_model_load_with(model.as_ptr(), 1, 1);
            assert!(!m.is_null(), "{}", last_error());
            let offsets = [0i64, -1];
            let (pos, types) = ([0.0; 3], [0i32]);
            let (mut e, mut f) = ([0.0], [0.0; 3]);
            let mut compute = |n_local, n_total, offsets: &[i64]| {
                allegro_model_compute(
                    m,
                    n_local,
                    n_total,
                    pos.as_ptr(),
                    types.as_ptr(),
                    offsets.as_ptr(),
                    std::ptr::null(),
                    e.as_mut_ptr(),
                    f.as_mut_ptr(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            };
            assert_eq!(
                compute(1, usize::MAX / 2, &offsets),
                ALLEGRO_INVALID_PARAMETER
            );
            assert!(last_error().contains("overflows"), "{}", last_error());
            assert_eq!(compute(1, 1, &offsets), ALLEGRO_INVALID_PARAMETER);
            assert!(last_error().contains("is negative"), "{}", last_error());
            assert_eq!(compute(1, 1, &[0, 0]), ALLEGRO_SUCCESS, "{}", last_error());
            assert_eq!(allegro_model_free(m), ALLEGRO_SUCCESS);
        }
    }

    #[test]
    fn version_matches_crate() {
        // SAFETY: the library's own NUL-terminated string.
        let v = unsafe { CStr::from_ptr(allegro_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
