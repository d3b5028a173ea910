//! Any bytes given to the dump readers (text, gzip, binary) end in frames or an error: never a
//! panic, a hang or an unbounded allocation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut source) = allegro_tools::trajectory::dump_from_bytes("fuzz", data.to_vec()) {
        for _ in 0..64 {
            match source.next_frame() {
                Ok(Some(frame)) => {
                    // the unwrapper and cell maths must cope with whatever was read
                    let mut u = allegro_tools::unwrap::Unwrapper::new(&frame);
                    let _ = u.push(&frame);
                }
                Ok(None) | Err(_) => break,
            }
        }
    }
});
