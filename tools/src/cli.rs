//! Shared pieces of the command-line tools: progress bars, safe output files, error exit.
//! The binaries' shell: like the binaries it reports with `anyhow`; the analyses themselves
//! (every other module) return their own typed errors, and `write_atomic` a typed one as the
//! library uses it too.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

/// A byte-count progress bar on stderr, shown only when stdout is a terminal.
pub fn progress_bar(total_bytes: u64, label: &str) -> ProgressBar {
    if !std::io::stdout().is_terminal() || total_bytes == 0 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total_bytes);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap()
        .progress_chars("=> "),
    );
    bar.set_message(label.to_owned());
    bar
}

/// A step-count progress bar on stderr, shown only when stdout is a terminal.
pub fn steps_bar(total: u64, label: &str) -> ProgressBar {
    if !std::io::stdout().is_terminal() || total == 0 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} eta {eta}")
            .unwrap()
            .progress_chars("=> "),
    );
    bar.set_message(label.to_owned());
    bar
}

/// Writes `contents` to `path` through a temporary file in the same folder and a rename, so a
/// failure never leaves a half-written file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    let fail = |source: std::io::Error| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| {
        fail(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file name",
        ))
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    // errors name the user's path, never the hidden temporary one
    std::fs::write(&tmp, contents)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            fail(e)
        })
}

/// A file that could not be written (named as the user gave it).
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    pub path: std::path::PathBuf,
    pub source: std::io::Error,
}

/// Checks, before any work is done, that every output can be written: its folder exists, the
/// path is not a folder, and a file can be created beside it. Errors name the path as given.
pub fn check_outputs<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> anyhow::Result<()> {
    for path in paths {
        let path = path.as_ref();
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        anyhow::ensure!(
            !path.is_dir(),
            "cannot write {}: it is a folder",
            path.display()
        );
        anyhow::ensure!(
            dir.is_dir(),
            "cannot write {}: folder {} does not exist",
            path.display(),
            dir.display()
        );
        let probe = dir.join(format!(".allegro-probe{}", std::process::id()));
        std::fs::File::create(&probe)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        let _ = std::fs::remove_file(&probe);
    }
    Ok(())
}

/// [`check_outputs`] for a tool's optional output files and its optional `--plot PREFIX`.
pub fn check_files_and_plot(
    files: &[&Option<PathBuf>],
    plot: &Option<PathBuf>,
) -> anyhow::Result<()> {
    check_outputs(
        files
            .iter()
            .filter_map(|f| (*f).clone())
            .chain(plot.iter().flat_map(|p| plot_files(p))),
    )
}

/// The files `--plot PREFIX` writes.
pub fn plot_files(prefix: &Path) -> [std::path::PathBuf; 2] {
    [
        crate::plot::with_suffix(prefix, "png"),
        crate::plot::with_suffix(prefix, "svg"),
    ]
}

/// Runs a tool's main; on error prints one line `error: ...` and exits with status 1.
pub fn run(main: impl FnOnce() -> anyhow::Result<()>) {
    // `tool | head` ends quietly, as other Unix tools do, instead of panicking on a closed pipe
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if let Err(e) = main() {
        // a cause whose text the message already holds (an OS error quoted by its wrapper) once
        let mut message = String::new();
        for cause in e.chain().map(|c| c.to_string()) {
            if !message.contains(&cause) {
                if !message.is_empty() {
                    message += ": ";
                }
                message += &cause;
            }
        }
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

/// Parses `1=Na,2=Sb,...` into (type, name) pairs.
pub fn parse_type_names(text: &str) -> anyhow::Result<Vec<(i32, String)>> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|pair| {
            let (t, n) = pair
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--types: expected TYPE=NAME, found '{pair}'"))?;
            let t: i32 = t
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("--types: '{t}' is not a type number"))?;
            Ok((t, n.trim().to_owned()))
        })
        .collect()
}
