//! Opening input files with bounds: regular files and streams (pipes) only, never a directory or
//! a device (`/dev/zero` would be read forever), text files (plans, keys, design and shard files)
//! with a size cap, and CSV lines of bounded length.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// The largest JSON file (a plan, a key, a design or shard file) read: 64 MiB. Real ones are
/// kilobytes.
pub const MAX_TEXT_FILE: u64 = 64 << 20;

/// The longest line of a CSV file read: 64 MiB (a cell of that size is no data anyone keeps).
pub const MAX_CSV_LINE: usize = 64 << 20;

/// Open `path` for reading if it is a regular file or a stream (a pipe, a socket), with its
/// length when it is a regular file.
///
/// # Errors
/// [`Error::Io`] for a directory, a device (`/dev/zero`, `/dev/random`), or a file that cannot be
/// opened.
pub(crate) fn open(path: &Path) -> Result<(std::fs::File, Option<u64>)> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(Error::io_message(
            path.display().to_string(),
            "is a directory, not a file",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() || kind.is_block_device() {
            return Err(Error::io_message(
                path.display().to_string(),
                "is a device, not a data file",
            ));
        }
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Ok((file, kind.is_file().then_some(meta.len())))
}

/// Read a UTF-8 text file of at most `max_bytes` (a byte-order mark at its start is dropped,
/// as spreadsheet and Windows editors write one).
///
/// # Errors
/// [`Error::Io`] for a directory, a device, a file that cannot be read, one larger than
/// `max_bytes` (with its size), or text that is not UTF-8.
///
/// ```
/// let dir = std::env::temp_dir().join("securebase-doc-read-text");
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("plan.json");
/// std::fs::write(&path, "\u{feff}{\"name\": \"x\"}")?;
/// let text = securebase::data::read_text_file(&path, 1024)?;
/// assert_eq!(text, "{\"name\": \"x\"}");
/// let e = securebase::data::read_text_file(&path, 4).unwrap_err();
/// assert!(e.to_string().contains("larger than"));
/// assert!(securebase::data::read_text_file("/dev/zero", 1024).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_text_file<P: AsRef<Path>>(path: P, max_bytes: u64) -> Result<String> {
    let path = path.as_ref();
    let (file, len) = open(path)?;
    let too_large = |size: String| {
        Error::io_message(
            path.display().to_string(),
            format!(
                "is {size}, larger than the {} bytes such a file may have",
                max_bytes
            ),
        )
    };
    if let Some(len) = len
        && len > max_bytes
    {
        return Err(too_large(format!("{len} bytes")));
    }
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large("more bytes".to_string()));
    }
    let start = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    String::from_utf8(bytes.split_off(start)).map_err(|e| {
        Error::io_message(
            path.display().to_string(),
            format!(
                "is not UTF-8 text (byte {} of the file); save it as UTF-8",
                e.utf8_error().valid_up_to() + start + 1
            ),
        )
    })
}

#[cfg(feature = "csv")]
/// A reader that fails once a line runs past `max` bytes, so that a file without line breaks
/// (`/dev/zero` through a pipe, a corrupted export) is an error after a bounded read, not a
/// growing buffer.
pub(crate) struct LineBound<R> {
    inner: R,
    max: usize,
    /// Bytes since the last line break.
    run: usize,
}

#[cfg(feature = "csv")]
impl<R> LineBound<R> {
    pub(crate) fn new(inner: R, max: usize) -> LineBound<R> {
        LineBound { inner, max, run: 0 }
    }
}

#[cfg(feature = "csv")]
impl<R: Read> Read for LineBound<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        // Only the bytes after the chunk's last line break are scanned (rposition stops there),
        // so ordinary files cost one short backwards scan per read.
        match chunk.iter().rposition(|&b| b == b'\n') {
            Some(i) => self.run = n - i - 1,
            None => self.run += n,
        }
        if self.run > self.max {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a line longer than {} bytes (no line break): not a CSV data file",
                    self.max
                ),
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "csv")]
    #[test]
    fn long_lines_are_an_error_after_a_bounded_read() {
        let mut r = LineBound::new(std::io::repeat(b'x'), 1000);
        let mut sink = Vec::new();
        let e = r.read_to_end(&mut sink).unwrap_err();
        assert!(e.to_string().contains("longer than 1000 bytes"), "{e}");
        assert!(sink.len() <= 1000 + 8192, "{}", sink.len());
        // Lines of any number within the bound pass unchanged.
        let text = "a,b\n".repeat(10_000);
        let mut r = LineBound::new(text.as_bytes(), 10);
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        assert_eq!(out, text);
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_directories_are_refused() {
        let e = open(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("is a device"), "{e}");
        let e = open(Path::new("/")).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
    }
}
