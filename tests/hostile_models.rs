//! Damaged and crafted `.nequip.pth` files: every one is a clear one-line error naming the file,
//! never an abort, a stack overflow, unbounded memory or a model that runs with wrong numbers.
//! The files are made here from the committed test models (bytes edited, entries rewritten) or
//! written from scratch (a minimal archive around a hand-made pickle).
mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use allegro::{Backend, BackendChoice, LoadOptions, Model};
use common::rewrite;

fn good() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/models/allegro_float64.nequip.pth")
}

fn load(path: &Path, backend: BackendChoice) -> Result<Model, allegro::Error> {
    Model::load_with(
        path,
        LoadOptions {
            backend,
            ..LoadOptions::default()
        },
    )
}

/// The error of loading `path` on every backend (native, auto and, in builds with libtorch,
/// torch: damage is never "unsupported", and the file is checked before libtorch reads it),
/// checked to be one line naming the file and containing `expected`.
fn refused(path: &Path, expected: &str) -> String {
    let torch = cfg!(feature = "torch").then_some(BackendChoice::Torch);
    refused_on(path, expected, torch)
}

/// As [`refused`], on the native and auto backends only: for an inconsistency inside the network
/// that libtorch never sees (it runs the archive's own compiled code, not these attributes).
fn refused_natively(path: &Path, expected: &str) -> String {
    refused_on(path, expected, None)
}

fn refused_on(path: &Path, expected: &str, torch: Option<BackendChoice>) -> String {
    let mut first = String::new();
    let backends = [BackendChoice::Native, BackendChoice::Auto];
    for backend in backends.into_iter().chain(torch) {
        let message = match load(path, backend) {
            Ok(_) => panic!("{} loaded on {backend:?}", path.display()),
            Err(e) => e.to_string(),
        };
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(message.contains(expected), "'{message}' lacks '{expected}'");
        assert!(
            message.contains(&*name),
            "'{message}' does not name the file"
        );
        assert_eq!(message.lines().count(), 1, "'{message}'");
        assert!(
            !message.contains("backend torch"),
            "damage must not point to libtorch: '{message}'"
        );
        first = message;
    }
    first
}

/// The test model with one extra/ entry replaced.
fn with_extra(dst: &Path, key: &str, value: &str) {
    rewrite(&good(), dst, |n, b| {
        Some(if n.ends_with(&format!("/extra/{key}")) {
            value.as_bytes().to_vec()
        } else {
            b
        })
    })
}

/// The test model with its data.pkl replaced by `pickle`.
fn with_pickle(dst: &Path, pickle: &[u8]) {
    rewrite(&good(), dst, |n, b| {
        Some(if n.ends_with("/data.pkl") {
            pickle.to_vec()
        } else {
            b
        })
    })
}

fn position(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("pattern in the test model")
}

#[test]
fn a_storage_whose_crc_fails_is_reported_as_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crc.nequip.pth");
    // Flip one bit inside a stored tensor, leaving the zip's CRC-32 as it was.
    let mut zin = zip::ZipArchive::new(std::fs::File::open(good()).unwrap()).unwrap();
    let mut storage = Vec::new();
    let name = zin
        .file_names()
        .find(|n| n.ends_with("/data/3"))
        .unwrap()
        .to_owned();
    zin.by_name(&name)
        .unwrap()
        .read_to_end(&mut storage)
        .unwrap();
    let mut bytes = std::fs::read(good()).unwrap();
    let at = position(&bytes, &storage[..storage.len().min(64)]);
    bytes[at + 5] ^= 0x10;
    std::fs::write(&path, bytes).unwrap();
    refused(&path, "CRC-32 checksum does not match");
}

#[test]
fn a_zip_entry_declaring_more_bytes_than_the_file_holds_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge-entry.nequip.pth");
    let mut bytes = std::fs::read(good()).unwrap();
    // The central directory record of data/3: uncompressed size at offset 24 (4 GiB - 16).
    let name = b"/data/3";
    let mut at = 0;
    while let Some(p) = bytes[at..].windows(4).position(|w| w == b"PK\x01\x02") {
        let rec = at + p;
        let len = u16::from_le_bytes([bytes[rec + 28], bytes[rec + 29]]) as usize;
        if bytes[rec + 46..rec + 46 + len].ends_with(name) {
            bytes[rec + 24..rec + 28].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
            break;
        }
        at = rec + 4;
    }
    std::fs::write(&path, bytes).unwrap();
    refused(&path, "data/3");
}

#[test]
fn a_tensor_larger_than_its_storage_is_refused_before_allocating() {
    // A view of 2^44 elements (70 TB of f32) on a storage of 4 elements.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge-tensor.nequip.pth");
    let mut p = b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(".to_vec();
    p.extend(b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000");
    p.extend(b"X\x03\x00\x00\x00cpuK\x04tQ");
    p.extend(b"K\x00\x8a\x06\x00\x00\x00\x00\x00\x10\x85K\x01\x85\x89}tR.");
    rewrite(&good(), &path, |n, b| {
        Some(if n.ends_with("/data.pkl") {
            p.clone()
        } else if n.ends_with("/data/0") {
            vec![0; 16]
        } else {
            b
        })
    });
    let message = refused(&path, "does not fit");
    assert!(message.contains("storage '0'"), "{message}");
}

#[test]
fn a_deeply_nested_pickle_is_refused_without_overflowing_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.nequip.pth");
    let depth = 300_000;
    let mut p = b"\x80\x02".to_vec();
    p.extend(std::iter::repeat_n(b']', depth));
    p.extend(std::iter::repeat_n(b'a', depth - 1));
    p.push(b'.');
    with_pickle(&path, &p);
    refused(&path, "nests values deeper than");
}

#[test]
fn memo_references_cannot_multiply_a_small_pickle_into_gigabytes() {
    // Each level holds four references to the one before: 4^30 values from ~400 bytes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("memo-bomb.nequip.pth");
    let mut p = b"\x80\x02]q\x00".to_vec();
    for level in 1..=30u8 {
        p.extend(b"(");
        for _ in 0..4 {
            p.extend([b'h', level - 1]);
        }
        p.extend([b'l', b'q', level]);
    }
    p.push(b'.');
    assert!(p.len() < 500);
    with_pickle(&path, &p);
    refused(&path, "copies more than");
}

#[test]
fn an_object_built_after_it_was_stored_is_refused() {
    // NEWOBJ, kept in the memo, put into a list, then BUILD: its depth could not be known.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late-build.nequip.pth");
    let p = b"\x80\x02c__main__\nM\n)\x81q\x00]h\x00a.";
    with_pickle(&path, p);
    refused(&path, "used before it is built");
}

#[test]
fn extra_type_names_that_contradict_the_network_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let permuted = dir.path().join("permuted.nequip.pth");
    with_extra(&permuted, "type_names", "Sb Na W S");
    refused(
        &permuted,
        "contradicts the metadata stored with the network",
    );
    let duplicate = dir.path().join("duplicate.nequip.pth");
    with_extra(&duplicate, "type_names", "Na Na W S");
    refused(&duplicate, "names type 'Na' twice");
}

#[test]
fn extra_dtype_and_cutoffs_that_contradict_the_network_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dtype = dir.path().join("dtype.nequip.pth");
    with_extra(&dtype, "model_dtype", "float32");
    refused(&dtype, "contradicts the metadata stored with the network");
    let r_max = dir.path().join("rmax.nequip.pth");
    with_extra(&r_max, "r_max", "4.5");
    refused(&r_max, "contradicts");
    let cutoffs = dir.path().join("cutoffs.nequip.pth");
    let mut values = vec!["4.0"; 16];
    values[0] = "3.0";
    with_extra(&cutoffs, "per_edge_type_cutoff", &values.join(" "));
    refused(&cutoffs, "contradicts");
}

#[test]
fn a_network_with_no_layers_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-layers.nequip.pth");
    rewrite(&good(), &path, |n, b| {
        if !n.ends_with("/data.pkl") {
            return Some(b);
        }
        // The Allegro module's num_layers: the key string memoised at its first use, then
        // `BINGET key, BININT1 2` first among the Allegro module's attributes.
        let at = position(&b, b"num_layersq") + b"num_layersq".len();
        let memo = b[at];
        let module = position(&b, b"Allegro_Module\n");
        let set = module + position(&b[module..], &[b'h', memo, b'K', 2]);
        let mut b = b;
        b[set + 3] = 0;
        Some(b)
    });
    refused_natively(&path, "do not chain");
}

#[test]
fn weights_stored_in_another_dtype_than_the_model_declares_are_refused() {
    // extra/ and the pickle's metadata agree on float32, the weights are float64.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f64-weights.nequip.pth");
    rewrite(&good(), &path, |n, b| {
        Some(if n.ends_with("/extra/model_dtype") {
            b"float32".to_vec()
        } else if n.ends_with("/data.pkl") {
            let text = b"model_dtypeq";
            let at = position(&b, text) + text.len() + 1;
            let value = b"X\x07\x00\x00\x00float64";
            let v = at + position(&b[at..], value);
            let mut b = b;
            b[v + 5..v + 12].copy_from_slice(b"float32");
            b
        } else {
            b
        })
    });
    refused_natively(&path, "weights stored as F64 in a float32 model");
}

#[test]
fn the_shipped_and_test_models_still_load() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for model in [
        "models/nawsbs.nequip.pth",
        "tests/models/allegro_float32.nequip.pth",
        "tests/models/allegro_float64.nequip.pth",
        "tests/models/allegro_l2_float64.nequip.pth",
        "tests/models/allegro_l3_float32.nequip.pth",
        "tests/models/allegro_zbl_float64.nequip.pth",
    ] {
        let m = load(&root.join(model), BackendChoice::Auto).unwrap();
        assert_eq!(m.backend(), Backend::Native, "{model}");
        assert_eq!(
            m.backend_reason(),
            "auto: the native engine implements every module of this model"
        );
    }
}

/// A sound model with a module the native engine lacks (a Tanh where the model has a SiLU):
/// `backend auto` hands it to libtorch when the library has it (here libtorch cannot load it
/// either, and the error says both), and only then; without libtorch it is the native engine's
/// error, naming the module.
#[test]
fn auto_hands_only_unimplemented_modules_to_libtorch() {
    let dir = tempfile::tempdir().unwrap();
    let tanh = dir.path().join("tanh.nequip.pth");
    rewrite(&good(), &tanh, |n, b| {
        if !n.ends_with("/data.pkl") {
            return Some(b);
        }
        let text = b"activation\nSiLU\n";
        let at = position(&b, text);
        let mut b = b;
        b[at..at + text.len()].copy_from_slice(b"activation\nTanh\n");
        Some(b)
    });
    let native = "which the native engine does not implement";
    match load(&tanh, BackendChoice::Auto) {
        Ok(model) => {
            assert_eq!(model.backend(), Backend::TorchScript);
            assert!(
                model.backend_reason().starts_with("auto: module")
                    && model.backend_reason().contains("Tanh"),
                "{}",
                model.backend_reason()
            );
        }
        Err(e) if cfg!(feature = "torch") => {
            // libtorch has no code for a Tanh in this archive: both reasons in one line.
            let e = e.to_string();
            assert!(
                e.contains(native) && e.contains("libtorch cannot run it either"),
                "{e}"
            );
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        Err(e) => assert!(e.to_string().contains(native), "{e}"),
    }
}
