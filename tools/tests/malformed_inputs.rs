//! Bad input never crashes or silently produces numbers: one clear line naming the file, the
//! frame and line, non-zero exit, and no output file.
mod common;

use std::path::Path;
use std::process::Command;

use common::small_dump;

/// Runs allegro-diffusion on `dump`; returns (exit ok, stderr, json written).
fn diffusion(dump: &Path) -> (bool, String, bool) {
    let json = dump.with_extension("json");
    let out = Command::new(env!("CARGO_BIN_EXE_allegro-diffusion"))
        .args(["--timestep", "0.1", "--species", "1", "--json"])
        .arg(&json)
        .arg(dump)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        json.exists(),
    )
}

fn edit(dir: &Path, name: &str, f: impl Fn(String) -> String) -> std::path::PathBuf {
    let good = dir.join("good.dump");
    small_dump(&good);
    let path = dir.join(name);
    std::fs::write(&path, f(std::fs::read_to_string(&good).unwrap())).unwrap();
    path
}

fn fails_with(path: &Path, message: &str) {
    let (ok, stderr, json) = diffusion(path);
    assert!(!ok, "should fail: {stderr}");
    assert!(!json, "a JSON file was written despite the error");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains(&path.display().to_string()),
        "does not name the file: {stderr}"
    );
    assert!(
        stderr.contains(message),
        "expected '{message}' in: {stderr}"
    );
}

#[test]
fn good_file_works() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("good.dump");
    small_dump(&path);
    let (ok, stderr, json) = diffusion(&path);
    assert!(ok && json, "{stderr}");
}

#[test]
fn truncated_last_frame_is_reported_and_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = edit(dir.path(), "cut.dump", |t| {
        let lines: Vec<&str> = t.lines().collect();
        lines[..lines.len() - 3].join("\n") + "\n"
    });
    let (ok, stderr, _) = diffusion(&path);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("frame 40") && stderr.contains("ends early") && stderr.contains("dropped"),
        "{stderr}"
    );
    let frames = allegro_tools::trajectory::read_all(&path).unwrap();
    assert_eq!(frames.len(), 39);
}

#[test]
fn nul_bytes_after_good_frames_keep_the_frames_with_a_warning() {
    // a file pre-allocated by a crashed job: good frames, then NULs (8 MiB here; the reader
    // stops at the first NUL line and never reads one unbounded "line")
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.dump");
    small_dump(&good);
    let mut bytes = std::fs::read(&good).unwrap();
    bytes.extend(std::iter::repeat_n(0u8, 8 << 20));
    let path = dir.path().join("nul.dump");
    std::fs::write(&path, bytes).unwrap();
    let (ok, stderr, json) = diffusion(&path);
    assert!(ok && json, "{stderr}");
    assert!(stderr.contains("NUL bytes"), "{stderr}");
    assert_eq!(
        allegro_tools::trajectory::read_all(&path).unwrap().len(),
        40
    );
    // NULs inside a frame: the frames before it are kept, that one dropped
    let text = std::fs::read_to_string(&good).unwrap();
    let cut = text.match_indices("ITEM: TIMESTEP").nth(30).unwrap().0 + 60;
    let mut bytes = text.as_bytes()[..cut].to_vec();
    bytes.extend(std::iter::repeat_n(0u8, 4096));
    std::fs::write(&path, bytes).unwrap();
    let (ok, stderr, _) = diffusion(&path);
    assert!(ok && stderr.contains("frame 31"), "{stderr}");
    assert_eq!(
        allegro_tools::trajectory::read_all(&path).unwrap().len(),
        30
    );
}

#[test]
fn a_line_without_end_is_refused_not_read_into_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = edit(dir.path(), "long.dump", |t| {
        let at = t.match_indices("ITEM: ATOMS").nth(2).unwrap().0;
        format!("{}{}", &t[..at], "x".repeat(3 << 20))
    });
    fails_with(&path, "a line longer than");
}

#[test]
fn truncated_gzip_keeps_the_good_frames() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.dump");
    small_dump(&good);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(&good).unwrap()).unwrap();
    let bytes = gz.finish().unwrap();
    let path = dir.path().join("cut.dump.gz");
    std::fs::write(&path, &bytes[..bytes.len() * 3 / 4]).unwrap();
    let (ok, stderr, json) = diffusion(&path);
    assert!(ok && json, "{stderr}");
    assert!(stderr.contains("compressed stream ends early"), "{stderr}");
    let n = allegro_tools::trajectory::read_all(&path).unwrap().len();
    assert!((20..40).contains(&n), "{n} frames kept");
    // cut at the very end (the gzip trailer only): every frame is there, still a warning
    std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
    let (ok, stderr, _) = diffusion(&path);
    assert!(
        ok && stderr.contains("compressed stream ends early"),
        "{stderr}"
    );
}

#[test]
fn types_contradicting_the_element_column_get_a_note() {
    let dir = tempfile::tempdir().unwrap();
    // the good dump with an element column: types 1 -> Na, 2 -> S
    let path = edit(dir.path(), "elements.dump", |t| {
        let mut out = String::new();
        let mut atoms = false;
        for line in t.lines() {
            if line.starts_with("ITEM: ATOMS") {
                out += &format!("{line} element\n");
                atoms = true;
            } else if line.starts_with("ITEM:") {
                out += &format!("{line}\n");
                atoms = false;
            } else if atoms {
                let ty = line.split_whitespace().nth(1).unwrap();
                out += &format!("{line} {}\n", if ty == "1" { "Na" } else { "S" });
            } else {
                out += &format!("{line}\n");
            }
        }
        out
    });
    let run = |types: &str| {
        Command::new(env!("CARGO_BIN_EXE_allegro-diffusion"))
            .args(["--timestep", "0.1", "--species", "Na", "--types", types])
            .arg(&path)
            .output()
            .unwrap()
    };
    let agree = run("1=Na,2=S");
    let stderr = String::from_utf8_lossy(&agree.stderr);
    assert!(
        agree.status.success() && !stderr.contains("--types names"),
        "{stderr}"
    );
    let contradict = run("1=Na,2=Sb");
    let stderr = String::from_utf8_lossy(&contradict.stderr);
    assert!(contradict.status.success(), "{stderr}");
    assert!(
        stderr.contains("--types names type 2 'Sb' but the dump's element column says 'S'"),
        "{stderr}"
    );
}

#[test]
fn missing_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = edit(dir.path(), "nocol.dump", |t| {
        t.replace(
            "ITEM: ATOMS id type x y z ix iy iz",
            "ITEM: ATOMS id type x y q ix iy iz",
        )
    });
    fails_with(
        &path,
        "frame 1, line 9: no complete set of position columns",
    );
}

#[test]
fn wrong_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = edit(dir.path(), "type.dump", |t| {
        let mut lines: Vec<String> = t.lines().map(str::to_owned).collect();
        let row = 15 * 11 + 9 + 2; // frame 12 (15 lines per frame), third atom row
        let mut f: Vec<String> = lines[row].split(' ').map(str::to_owned).collect();
        f[1] = "Na".into();
        lines[row] = f.join(" ");
        lines.join("\n") + "\n"
    });
    fails_with(
        &path,
        &format!(
            "frame 12, line {}: column 'type': expected an integer, found 'Na'",
            15 * 11 + 9 + 3
        ),
    );
}

#[test]
fn non_numeric_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = edit(dir.path(), "nan.dump", |t| {
        let mut lines: Vec<String> = t.lines().map(str::to_owned).collect();
        let mut f: Vec<String> = lines[9].split(' ').map(str::to_owned).collect();
        f[2] = "abc".into();
        lines[9] = f.join(" ");
        lines.join("\n") + "\n"
    });
    fails_with(
        &path,
        "frame 1, line 10: column 'x': expected a number, found 'abc'",
    );
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.dump");
    std::fs::write(&path, "").unwrap();
    fails_with(&path, "the file is empty");
}

#[test]
fn binary_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.bin");
    std::fs::write(&path, [0xffu8; 64]).unwrap();
    fails_with(&path, "frame 1");
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_allegro-diffusion"))
        .args(["--timestep", "0.1", "--species", "1", "--json"])
        .arg(dir.path().join("run.json"))
        .arg("/nonexistent/run.dump")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.starts_with("error: /nonexistent/run.dump: No such file"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}"); // not repeated
    assert!(!dir.path().join("run.json").exists());
}
