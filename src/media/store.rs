//! The media folder. Processed files are named by the SHA-256 of their content
//! (`<64 hex>.jpg|png`), so a name never changes meaning, can be cached for ever, and is
//! never chosen by a user. Uploads arrive in `incoming/` under random names and are
//! removed once processed or refused.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::process::{Encoded, OutFormat};

const INCOMING: &str = "incoming";

#[derive(Debug, Clone)]
pub struct MediaStore {
    dir: PathBuf,
}

impl MediaStore {
    pub fn new(dir: PathBuf) -> MediaStore {
        MediaStore { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new file for an arriving upload, under a random name in `incoming/`.
    pub fn incoming(&self) -> std::io::Result<(PathBuf, std::fs::File)> {
        let dir = self.dir.join(INCOMING);
        std::fs::create_dir_all(&dir)?;
        let mut b = [0u8; 16];
        openssl::rand::rand_bytes(&mut b).map_err(std::io::Error::other)?;
        let path = dir.join(format!("{}.upload", hex::encode(b)));
        let file = std::fs::File::create_new(&path)?;
        Ok((path, file))
    }

    /// Writes `encoded` under its content-addressed name (unless a file of that name is
    /// already there) and returns the name. Written to a temporary name first, then
    /// renamed: a reader never sees half a file.
    pub fn put(&self, encoded: &Encoded) -> std::io::Result<String> {
        let name = format!(
            "{}.{}",
            hex::encode(openssl::sha::sha256(&encoded.bytes)),
            encoded.format.extension()
        );
        let path = self.dir.join(&name);
        if path.exists() {
            return Ok(name);
        }
        std::fs::create_dir_all(&self.dir)?;
        let (tmp, mut file) = self.incoming()?;
        let written = file.write_all(&encoded.bytes).and_then(|_| file.sync_all());
        drop(file);
        if let Err(e) = written.and_then(|_| std::fs::rename(&tmp, &path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(name)
    }

    /// The path of a stored file, when `name` is one of our names.
    pub fn path_of(&self, name: &str) -> Option<PathBuf> {
        file_format(name).map(|_| self.dir.join(name))
    }

    /// Removes a stored file (a missing one is fine).
    pub fn remove(&self, name: &str) {
        if let Some(path) = self.path_of(name) {
            match std::fs::remove_file(&path) {
                Ok(()) => tracing::debug!(%name, "media file removed"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(%name, error = %e, "cannot remove media file"),
            }
        }
    }
}

/// The format of a stored file's name: `<64 lower-case hex>.jpg` or `.png`, nothing else.
pub fn file_format(name: &str) -> Option<OutFormat> {
    let (hash, ext) = name.split_once('.')?;
    if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    OutFormat::from_extension(ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_names_are_files() {
        let hash = "a".repeat(64);
        assert_eq!(file_format(&format!("{hash}.jpg")), Some(OutFormat::Jpeg));
        assert_eq!(file_format(&format!("{hash}.png")), Some(OutFormat::Png));
        assert_eq!(file_format(&format!("{hash}.html")), None);
        assert_eq!(file_format("../../etc/passwd"), None);
        assert_eq!(file_format(&format!("{}.jpg", "A".repeat(64))), None);
        assert_eq!(
            file_format(&format!("incoming/{}.jpg", "a".repeat(55))),
            None
        );
    }
}
