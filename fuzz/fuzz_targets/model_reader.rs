//! Any bytes given to the `.nequip.pth` reader (zip, pickle, network build) end in a model or a
//! clear error: never a panic, an abort, a stack overflow or an unbounded allocation. The first
//! byte picks what the rest is: a whole file, or the `data.pkl` of a real test model (so that
//! mutations reach the pickle and the network build instead of failing the zip's CRC check).
#![no_main]
use std::io::{Cursor, Read, Write};
use std::path::PathBuf;

use allegro::{BackendChoice, LoadOptions, Model};
use libfuzzer_sys::fuzz_target;

static MODELS: [&[u8]; 2] = [
    include_bytes!("../../tests/models/allegro_float32.nequip.pth"),
    include_bytes!("../../tests/models/allegro_zbl_float64.nequip.pth"),
];

/// `model` with its data.pkl replaced by `pickle`.
fn with_pickle(model: &[u8], pickle: &[u8]) -> Vec<u8> {
    let mut zin = zip::ZipArchive::new(Cursor::new(model)).unwrap();
    let mut zout = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..zin.len() {
        let mut entry = zin.by_index(i).unwrap();
        let name = entry.name().to_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zout.start_file(name.as_str(), options).unwrap();
        let bytes = if name.ends_with("/data.pkl") { pickle } else { &bytes[..] };
        zout.write_all(bytes).unwrap();
    }
    zout.finish().unwrap().into_inner()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = match mode % 3 {
        0 => rest.to_vec(),
        k => with_pickle(MODELS[k as usize - 1], rest),
    };
    let path = PathBuf::from(format!("/tmp/allegro-fuzz-{}.nequip.pth", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let options = LoadOptions {
        backend: BackendChoice::Native,
        ..LoadOptions::default()
    };
    if let Ok(mut model) = Model::load_with(&path, options) {
        // A model that loads must also evaluate (two atoms 2 A apart, no cell).
        let types = [0, model.metadata().num_types() as i32 - 1];
        let positions = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]];
        let system = allegro::System {
            n_local: 2,
            positions: &positions,
            types: &types,
            neighbours: allegro::NeighbourList {
                offsets: &[0, 1, 2],
                indices: &[1, 0],
            },
        };
        let _ = model.compute(&system);
    }
});
