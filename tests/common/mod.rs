//! Pieces shared by the integration tests of the library.
use std::io::{Read, Write};
use std::path::Path;

/// The archive of `src` rewritten entry by entry through `edit` (None drops the entry).
pub fn rewrite(src: &Path, dst: &Path, edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let mut zin = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut zout = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    for i in 0..zin.len() {
        let mut entry = zin.by_index(i).unwrap();
        let name = entry.name().to_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if let Some(bytes) = edit(&name, bytes) {
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            zout.start_file(name, options).unwrap();
            zout.write_all(&bytes).unwrap();
        }
    }
    zout.finish().unwrap();
}
