//! The project stands alone: nothing in it cites notes that live outside the repository.
use std::path::Path;

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') || ["target", "build", "__pycache__"].contains(&name.as_str()) {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else if [
            "rs", "md", "py", "sh", "cpp", "h", "txt", "in", "toml", "yaml", "cmake",
        ]
        .iter()
        .any(|e| name.ends_with(&format!(".{e}")))
        {
            out.push(path);
        }
    }
}

#[test]
fn no_citations_of_notes_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(root, &mut files);
    assert!(files.len() > 50, "{} files", files.len());
    // spelled in pieces so that this file does not match itself
    let outside = [
        ["SCIENCE", ".md"].concat(),
        ["TOOLCHAIN", ".md"].concat(),
        ["NATIVE", ".md"].concat(),
        ["DESIGN", ".md"].concat(),
        ["../", "shared/"].concat(),
    ];
    let mut bad = Vec::new();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if outside.iter().any(|o| line.contains(o.as_str())) {
                bad.push(format!("{}:{}: {line}", f.display(), n + 1));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
