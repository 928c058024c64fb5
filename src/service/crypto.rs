//! Password hashing (Argon2id, the `argon2` crate from RustCrypto), RSA key pairs for
//! ActivityPub signing, random tokens. CPU-heavy work runs on the blocking pool.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::AppError;

/// Random bytes, hex-encoded: session and CSRF tokens.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    openssl::rand::rand_bytes(&mut buf).expect("OpenSSL RNG failed");
    hex::encode(buf)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(openssl::sha::sha256(s.as_bytes()))
}

/// Constant-time comparison of two secrets.
pub fn secure_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && openssl::memcmp::eq(a.as_bytes(), b.as_bytes())
}

/// Argon2id with the crate's defaults (19 MiB, 2 passes: OWASP's recommendation).
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let mut salt_bytes = [0u8; 16];
        openssl::rand::rand_bytes(&mut salt_bytes).map_err(AppError::internal)?;
        let salt = SaltString::encode_b64(&salt_bytes)
            .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal(anyhow::anyhow!("argon2: {e}")))
    })
    .await
    .map_err(AppError::internal)?
}

/// Checks a password against a stored hash. With no hash (no such account) it still does
/// the work of one check, so timing does not reveal which usernames exist.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let stored = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| AppError::internal(anyhow::anyhow!("stored hash unreadable: {e}")))?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && stored != DUMMY_HASH)
    })
    .await
    .map_err(AppError::internal)?
}

/// An Argon2id hash of a random string nobody knows, with the default cost.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$K4Ofl/9hd8vh1tDzDuHfqUqUSHhDJOiyt+RbE3hq2Xw";

/// An RSA 2048 key pair as (public PEM, private PKCS#8 PEM).
pub async fn generate_keypair() -> Result<(String, String), AppError> {
    tokio::task::spawn_blocking(|| {
        let rsa = openssl::rsa::Rsa::generate(2048).map_err(AppError::internal)?;
        let pkey = openssl::pkey::PKey::from_rsa(rsa).map_err(AppError::internal)?;
        let public = pkey.public_key_to_pem().map_err(AppError::internal)?;
        let private = pkey
            .private_key_to_pem_pkcs8()
            .map_err(AppError::internal)?;
        Ok((
            String::from_utf8(public).map_err(AppError::internal)?,
            String::from_utf8(private).map_err(AppError::internal)?,
        ))
    })
    .await
    .map_err(AppError::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_verify_and_fail() {
        let h = hash_password("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong horse".into(), Some(h))
                .await
                .unwrap()
        );
        assert!(!verify_password("anything".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn keypair_is_rsa_2048() {
        let (public, private) = generate_keypair().await.unwrap();
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"));
        let key = openssl::pkey::PKey::public_key_from_pem(public.as_bytes()).unwrap();
        assert_eq!(key.bits(), 2048);
    }

    #[test]
    fn tokens_are_random_hex() {
        let a = random_token(32);
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token(32));
        assert!(secure_eq(&a, &a.clone()));
        assert!(!secure_eq(&a, &random_token(32)));
    }
}
