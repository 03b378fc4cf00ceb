//! Encryption of a backup with a passphrase (age).
//!
//! One scrypt per backup, not one per file: a backup gets its own X25519 key;
//! every file of it (the database, each photo) is encrypted to that key, and
//! the key itself is kept in `key.age`, encrypted with the passphrase. Opening
//! a backup costs one passphrase derivation (about a second, by design) however
//! many photos it holds. Without the passphrase, the files are age ciphertext;
//! `manifest.json` stays readable (row counts, photo names, sizes and hashes)
//! so that an operator can see what a backup holds before opening it.

use age::secrecy::{ExposeSecret, SecretString};
use std::io::{Read, Write};

/// Shortest passphrase accepted: it is all that protects every photo and
/// password hash of the year.
pub const MIN_PASSPHRASE: usize = 12;

/// The passphrase of `--passphrase-file` or `KHAOSAT_BACKUP_PASSPHRASE`.
#[derive(Clone)]
pub struct Passphrase(SecretString);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(…)")
    }
}

impl Passphrase {
    pub fn new(text: &str) -> Result<Passphrase, String> {
        // A file's final newline is not part of it.
        let text = text.trim_end_matches(['\n', '\r']);
        if text.chars().count() < MIN_PASSPHRASE {
            return Err(format!(
                "the backup passphrase must be at least {MIN_PASSPHRASE} characters"
            ));
        }
        Ok(Passphrase(SecretString::from(text.to_string())))
    }

    /// From `--passphrase-file` (preferred: nothing on the command line) or
    /// the environment variable's value.
    pub fn from_sources(
        file: Option<&std::path::Path>,
        env: Option<&str>,
    ) -> Result<Option<Passphrase>, String> {
        match (file, env) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!("cannot read the passphrase file {}: {e}", path.display())
                })?;
                Passphrase::new(&text).map(Some)
            }
            (None, Some(text)) if !text.is_empty() => Passphrase::new(text).map(Some),
            _ => Ok(None),
        }
    }
}

/// A backup's own key.
pub struct Seal {
    identity: age::x25519::Identity,
}

impl Seal {
    /// A new key for a new backup, and `key.age`: the key under `passphrase`.
    pub fn new(passphrase: &Passphrase) -> Result<(Seal, Vec<u8>), String> {
        let identity = age::x25519::Identity::generate();
        let encryptor = age::Encryptor::with_user_passphrase(passphrase.0.clone());
        let mut key_file = Vec::new();
        let mut writer = encryptor
            .wrap_output(&mut key_file)
            .map_err(|e| e.to_string())?;
        writer
            .write_all(identity.to_string().expose_secret().as_bytes())
            .and_then(|()| writer.finish().map(drop))
            .map_err(|e| format!("cannot encrypt the backup's key: {e}"))?;
        Ok((Seal { identity }, key_file))
    }

    /// The key of an existing backup, from its `key.age`.
    pub fn open(key_file: &[u8], passphrase: &Passphrase) -> Result<Seal, String> {
        let decryptor = age::Decryptor::new(key_file)
            .map_err(|e| format!("the backup's key.age is damaged: {e}"))?;
        let identity = age::scrypt::Identity::new(passphrase.0.clone());
        let mut reader = decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                    "the passphrase does not open this backup".to_string()
                }
                other => format!("cannot open the backup's key: {other}"),
            })?;
        let mut text = String::new();
        reader
            .read_to_string(&mut text)
            .map_err(|_| "the passphrase does not open this backup".to_string())?;
        let identity = text
            .trim()
            .parse::<age::x25519::Identity>()
            .map_err(|e| format!("the backup's key.age holds no key: {e}"))?;
        Ok(Seal { identity })
    }

    /// Encrypts what is written to `output`; `finish` must be called.
    pub fn writer<W: Write>(&self, output: W) -> std::io::Result<age::stream::StreamWriter<W>> {
        let recipient = self.identity.to_public();
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(std::io::Error::other)?
            .wrap_output(output)
    }

    /// Decrypts `input`; a read fails on any damaged or foreign byte.
    pub fn reader<R: Read>(&self, input: R) -> Result<age::stream::StreamReader<R>, String> {
        age::Decryptor::new(input)
            .and_then(|d| d.decrypt(std::iter::once(&self.identity as &dyn age::Identity)))
            .map_err(|e| format!("cannot decrypt: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_open_with_the_passphrase_only() {
        let pass = Passphrase::new("đèn dầu trên núi 2026\n").unwrap();
        let (seal, key) = Seal::new(&pass).unwrap();
        let mut sealed = Vec::new();
        let mut w = seal.writer(&mut sealed).unwrap();
        w.write_all(b"anh may dap").unwrap();
        w.finish().unwrap();
        assert!(!sealed.windows(11).any(|w| w == b"anh may dap"));

        let opened = Seal::open(&key, &Passphrase::new("đèn dầu trên núi 2026").unwrap()).unwrap();
        let mut plain = String::new();
        opened
            .reader(&sealed[..])
            .unwrap()
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, "anh may dap");

        let wrong = Seal::open(&key, &Passphrase::new("not the passphrase").unwrap());
        assert_eq!(
            wrong.err().as_deref(),
            Some("the passphrase does not open this backup")
        );
        // A flipped byte is refused, not read as other plaintext.
        let mut damaged = sealed.clone();
        let last = damaged.len() - 5;
        damaged[last] ^= 1;
        let mut out = Vec::new();
        assert!(opened
            .reader(&damaged[..])
            .and_then(|mut r| r.read_to_end(&mut out).map_err(|e| e.to_string()))
            .is_err());
    }

    #[test]
    fn a_short_passphrase_is_refused() {
        assert!(Passphrase::new("ngắn quá").unwrap_err().contains("12"));
        assert!(Passphrase::from_sources(None, Some("")).unwrap().is_none());
    }
}
