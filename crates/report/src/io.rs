//! Output files are written whole or not at all: to a temporary name beside the target, then
//! renamed over it, so a failed run never leaves a truncated file or clobbers an existing one.

use crate::error::Error;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `contents` to `path` atomically (temporary file in the same folder, then rename).
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), Error> {
    fn io<'p>(action: &'static str, p: &'p Path) -> impl FnOnce(std::io::Error) -> Error + 'p {
        move |source| Error::Io { path: p.to_path_buf(), action, source }
    }
    if path.is_dir() {
        return Err(Error::input(format!("cannot write {}: it is a folder", path.display())));
    }
    let tmp = temporary_name(path);
    let result = (|| {
        let mut file = fs::File::create(&tmp).map_err(io("create", &tmp))?;
        file.write_all(contents).map_err(io("write", &tmp))?;
        file.sync_all().map_err(io("write", &tmp))?;
        fs::rename(&tmp, path).map_err(io("write", path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp); // best effort; the target is untouched either way
    }
    result
}

/// `dir/.name.tmp-PID` beside `path`.
fn temporary_name(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Creates `dir` (and its parents) for plots; refuses a path that exists and is not a folder.
pub fn ensure_dir(dir: &Path) -> Result<(), Error> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::input(format!("--plots {}: it exists and is not a folder", dir.display())));
    }
    fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), action: "create folder", source })
}

/// Removes the file at `path` if there is one: an output this run does not write again must not
/// pass for its own.
pub fn remove_if_present(path: &Path) -> Result<(), Error> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::Io { path: path.to_path_buf(), action: "remove", source: e })
        }
        _ => Ok(()),
    }
}
