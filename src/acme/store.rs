//! ACME files under `DATA_DIR/acme/<CA host>/`: the account (`account.json`, its key
//! included), and per host name the certificate chain (`HOST.crt.pem`) and its key
//! (`HOST.key.pem`). A folder per CA, so a staging or test CA's certificate is never
//! served once the directory changes. Keys are written owner-only, files replaced whole.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::x509::X509;

/// The folder of one CA.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// A stored certificate, as read back.
#[derive(Debug, Clone)]
pub struct StoredCert {
    /// DER certificates, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// The key, PKCS#8 DER.
    pub key: Vec<u8>,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// The leaf's serial, hex.
    pub serial: String,
}

impl StoredCert {
    /// When to renew: two thirds into the certificate's lifetime (60 days into Let's
    /// Encrypt's 90).
    pub fn renew_at(&self) -> i64 {
        self.not_before + (self.not_after - self.not_before) * 2 / 3
    }
}

impl Store {
    pub fn new(data_dir: &Path, directory_url: &str) -> Store {
        let ca = url::Url::parse(directory_url)
            .ok()
            .map(|u| match (u.host_str(), u.port()) {
                (Some(h), Some(p)) => format!("{h}_{p}"),
                (Some(h), None) => h.to_owned(),
                _ => "ca".to_owned(),
            })
            .unwrap_or_else(|| "ca".to_owned());
        let safe: String = ca
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Store {
            dir: data_dir.join("acme").join(safe),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn ensure_dir(&self) -> anyhow::Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", self.dir.display()))
    }

    /// The stored account, as `instant_acme` serialised it.
    pub fn account(&self) -> anyhow::Result<Option<instant_acme::AccountCredentials>> {
        let path = self.dir.join("account.json");
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).map_err(|e| {
                anyhow::anyhow!("unreadable ACME account {}: {e}", path.display())
            })?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        }
    }

    pub fn save_account(&self, account: &instant_acme::AccountCredentials) -> anyhow::Result<()> {
        self.ensure_dir()?;
        write_private(
            &self.dir.join("account.json"),
            &serde_json::to_vec_pretty(account)?,
        )
    }

    /// The stored certificate for `host`, if there is one that names it.
    pub fn certificate(&self, host: &str) -> anyhow::Result<Option<StoredCert>> {
        let (cert_path, key_path) = self.cert_paths(host);
        let chain_pem = match std::fs::read(&cert_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => anyhow::bail!("cannot read {}: {e}", cert_path.display()),
        };
        let key_pem = std::fs::read(&key_path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", key_path.display()))?;
        let parsed = parse(&chain_pem, &key_pem)
            .map_err(|e| anyhow::anyhow!("unusable {}: {e}", cert_path.display()))?;
        let leaf = X509::from_der(&parsed.chain[0])?;
        let names = leaf.subject_alt_names();
        let covers = names
            .iter()
            .flatten()
            .any(|n| n.dnsname().is_some_and(|d| d.eq_ignore_ascii_case(host)));
        Ok(covers.then_some(parsed))
    }

    /// Stores a new certificate (PEM chain from the CA, PEM key) and reads it back.
    pub fn save_certificate(
        &self,
        host: &str,
        chain_pem: &str,
        key_pem: &str,
    ) -> anyhow::Result<StoredCert> {
        let parsed = parse(chain_pem.as_bytes(), key_pem.as_bytes())?;
        self.ensure_dir()?;
        let (cert_path, key_path) = self.cert_paths(host);
        write_private(&key_path, key_pem.as_bytes())?;
        write_private(&cert_path, chain_pem.as_bytes())?;
        Ok(parsed)
    }

    fn cert_paths(&self, host: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{host}.crt.pem")),
            self.dir.join(format!("{host}.key.pem")),
        )
    }
}

/// Chain and key from PEM, with the leaf's dates and serial.
fn parse(chain_pem: &[u8], key_pem: &[u8]) -> anyhow::Result<StoredCert> {
    let certs = X509::stack_from_pem(chain_pem)?;
    let leaf = certs
        .first()
        .ok_or_else(|| anyhow::anyhow!("no certificate in it"))?;
    let key = openssl::pkey::PKey::private_key_from_pem(key_pem)?;
    if !leaf.public_key()?.public_eq(&key) {
        anyhow::bail!("the key does not match the certificate");
    }
    let epoch = Asn1Time::from_unix(0)?;
    let unix = |t: &openssl::asn1::Asn1TimeRef| -> anyhow::Result<i64> {
        let d = epoch.diff(t)?;
        Ok(i64::from(d.days) * 86_400 + i64::from(d.secs))
    };
    Ok(StoredCert {
        not_before: unix(leaf.not_before())?,
        not_after: unix(leaf.not_after())?,
        serial: leaf.serial_number().to_bn()?.to_hex_str()?.to_string(),
        chain: certs.iter().map(|c| c.to_der()).collect::<Result<_, _>>()?,
        key: key.private_key_to_pkcs8()?,
    })
}

/// Writes a file readable by its owner only, replacing any old one whole.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_certificate_reads_back_and_a_wrong_key_is_refused() {
        let mut b = [0u8; 6];
        openssl::rand::rand_bytes(&mut b).unwrap();
        let data = std::env::temp_dir().join(format!("tidings-acme-store-{}", hex::encode(b)));
        let store = Store::new(&data, "https://acme-v02.api.letsencrypt.org/directory");
        assert!(store.dir().ends_with("acme/acme-v02.api.letsencrypt.org"));
        assert!(store.certificate("news.example.org").unwrap().is_none());
        assert!(store.account().unwrap().is_none());

        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["news.example.org".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let saved = store
            .save_certificate("news.example.org", &cert.pem(), &key.serialize_pem())
            .unwrap();
        assert!(saved.not_before < saved.renew_at() && saved.renew_at() < saved.not_after);
        let back = store.certificate("news.example.org").unwrap().unwrap();
        assert_eq!(back.serial, saved.serial);
        let mode = std::fs::metadata(store.dir().join("news.example.org.key.pem"))
            .unwrap()
            .permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o077, 0);

        let other = rcgen::KeyPair::generate().unwrap();
        let err = store
            .save_certificate("news.example.org", &cert.pem(), &other.serialize_pem())
            .unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        let _ = std::fs::remove_dir_all(&data);
    }
}
