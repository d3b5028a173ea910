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

/// Where a write to `path` lands: `path` itself, or the file a symlink points to (followed, so
/// that the link stays a link). An existing path must be a regular file: a device node such as
/// /dev/null, a FIFO or a socket is refused, never replaced by a rename (as root, renaming over
/// /dev/null replaces it for every program on the machine).
fn write_target(path: &Path) -> std::io::Result<PathBuf> {
    use std::io::{Error, ErrorKind};
    let mut target = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&target) {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(target),
            Err(e) => return Err(e),
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&target)?;
                target = match target.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(m) if m.is_file() => return Ok(target),
            Ok(m) => {
                let what = if m.is_dir() {
                    "a folder"
                } else {
                    "not a regular file (a device, FIFO or socket)"
                };
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("it is {what}; give the path of a file"),
                ));
            }
        }
    }
    Err(Error::new(
        ErrorKind::InvalidInput,
        "too many levels of symbolic links",
    ))
}

/// Writes `contents` to `path` through a temporary file in the same folder and a rename, so a
/// failure never leaves a half-written file. A symlink is followed (its target is written);
/// anything that is not a regular file is refused.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    let fail = |source: std::io::Error| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let target = write_target(path).map_err(fail)?;
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target.file_name().ok_or_else(|| {
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
        .and_then(|()| std::fs::rename(&tmp, &target))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            fail(e)
        })
}

/// Refuses a result that holds a non-finite number (named by its path), before anything of it
/// is printed or written: serde_json would write it as `null`, a table as `NaN`.
pub fn check_finite<T: serde::Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    crate::finite::check(value).map_err(|e| {
        anyhow::anyhow!(
            "the result came out non-finite ({e}); nothing is reported: please report this with the input"
        )
    })
}

/// Writes `value` as pretty JSON through [`write_atomic`], after [`check_finite`].
pub fn write_json<T: serde::Serialize + ?Sized>(path: &Path, value: &T) -> anyhow::Result<()> {
    check_finite(value)?;
    write_atomic(path, &serde_json::to_vec_pretty(value)?)?;
    Ok(())
}

/// A file that could not be written (named as the user gave it).
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    /// The output path as the user gave it.
    pub path: std::path::PathBuf,
    /// The I/O error.
    pub source: std::io::Error,
}

/// Checks, before any work is done, that every output can be written: it is a regular file or
/// a new path (a symlink counts as its target), its folder exists and takes a new file, and no
/// two outputs are the same file. Errors name the path as given.
pub fn check_outputs<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> anyhow::Result<()> {
    let mut seen: Vec<(PathBuf, PathBuf)> = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let target = write_target(path)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
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
        // The same file under two names (a/../b, a link): compare the folder's real path.
        let key = std::fs::canonicalize(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .join(target.file_name().unwrap_or_default());
        if let Some((first, _)) = seen.iter().find(|(_, k)| *k == key) {
            anyhow::bail!(
                "{} and {} are the same file: give each output its own path",
                first.display(),
                path.display()
            );
        }
        seen.push((path.to_path_buf(), key));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_are_followed_and_stay_links() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        check_outputs([&link]).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        // a dangling link: its target is created
        let dangling = dir.path().join("dangling.json");
        std::os::unix::fs::symlink("made.json", &dangling).unwrap();
        write_atomic(&dangling, b"x").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("made.json")).unwrap(),
            "x"
        );
    }

    #[test]
    fn devices_fifos_and_folders_are_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path in a fresh temporary folder.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = write_atomic(&fifo, b"x").unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
        let e = check_outputs([&fifo]).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        // /dev/null is only looked at here: the check refuses it before anything is written
        let e = check_outputs([Path::new("/dev/null")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cannot write /dev/null: it is not a regular file"),
            "{e}"
        );
        assert!(write_target(Path::new("/dev/null")).is_err());
        let e = write_atomic(dir.path(), b"x").unwrap_err().to_string();
        assert!(e.contains("it is a folder"), "{e}");
    }

    #[test]
    fn two_outputs_on_one_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("out.json");
        let b = dir.path().join("sub/../out.json");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let e = check_outputs([&a, &b]).unwrap_err().to_string();
        assert!(e.contains("are the same file"), "{e}");
        check_outputs([&a, &dir.path().join("other.json")]).unwrap();
    }
}
