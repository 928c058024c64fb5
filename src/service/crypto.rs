//! Password hashing (Argon2id, the `argon2` crate from RustCrypto), RSA key pairs for
//! ActivityPub signing, random tokens. CPU-heavy work runs on the blocking pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{self, Decimal, Ident, Output, ParamsString, Salt};
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

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

/// The CSRF token of a logged-in session: HMAC-SHA256 keyed with the session's secret
/// cookie value, hex-encoded. Only someone holding the session can compute it, so a token
/// planted by another site (a sibling subdomain can set cookies for ours) does not pass.
pub fn session_csrf_token(session_token: &str) -> String {
    let key = openssl::pkey::PKey::hmac(session_token.as_bytes()).expect("HMAC key");
    let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key)
        .expect("HMAC-SHA256");
    signer.update(b"tidings csrf v1").expect("HMAC update");
    hex::encode(signer.sign_to_vec().expect("HMAC"))
}

/// Constant-time comparison of two secrets.
pub fn secure_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && openssl::memcmp::eq(a.as_bytes(), b.as_bytes())
}

/// Bounds the password hashes and checks in flight, and the memory they take. Each
/// Argon2id run needs 19 MiB; without a bound, 100 concurrent failed logins took the
/// process from 45 MiB to 1.7 GiB. At most `workers` runs at once (one per core), each in
/// a memory block of its own kept for the next run (so the bound does not depend on how
/// the allocator reuses freed memory across threads); at most `queue` more wait for a
/// turn, and anything past that is refused at once with
/// [`ErrorKind::Busy`](crate::error::ErrorKind::Busy) (503 with `Retry-After`).
pub struct PasswordGate {
    running: Arc<Semaphore>,
    admitted: AtomicUsize,
    capacity: usize,
    /// Argon2 working memory, one per worker at most, reused from run to run.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl PasswordGate {
    pub fn new(workers: usize, queue: usize) -> PasswordGate {
        let workers = workers.max(1);
        PasswordGate {
            running: Arc::new(Semaphore::new(workers)),
            admitted: AtomicUsize::new(0),
            capacity: workers + queue,
            memory: Arc::default(),
        }
    }

    /// One worker per core, and a queue of four per worker.
    pub fn for_this_machine() -> PasswordGate {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        PasswordGate::new(cores, 4 * cores)
    }

    /// A place among the running or waiting hashes, or `None` when all are taken.
    pub fn try_admit(self: &Arc<Self>) -> Option<Admission> {
        self.admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .ok()
            .map(|_| Admission {
                gate: Arc::clone(self),
            })
    }

    /// Runs `work` on the blocking pool with a worker's memory once a worker is free;
    /// refused with [`ErrorKind::Busy`](crate::error::ErrorKind::Busy) when the queue is
    /// full.
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&mut Vec<Block>) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let admission = self.try_admit().ok_or_else(|| {
            tracing::warn!("password hashing queue full: request refused");
            AppError::busy()
        })?;
        let turn = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(AppError::internal)?;
        let memory = Arc::clone(&self.memory);
        // The place and the turn are given back when the work is done, not when the
        // request is: a client that hangs up does not free a place while its hash runs.
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let _admission = admission;
            let mut blocks = lock(&memory).pop().unwrap_or_default();
            let out = work(&mut blocks);
            lock(&memory).push(blocks);
            out
        })
        .await
        .map_err(AppError::internal)?
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A place in a [`PasswordGate`], given back when dropped.
pub struct Admission {
    gate: Arc<PasswordGate>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.gate.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Argon2 of `password` with the given algorithm, version, parameters and salt, in
/// `memory` (grown if too small), as a PHC string hash: what `argon2`'s `PasswordHasher`
/// computes, without allocating the working memory each time.
fn argon2_in<'a>(
    memory: &mut Vec<Block>,
    password: &[u8],
    algorithm: Ident<'a>,
    version: Option<Decimal>,
    params: Params,
    salt: Salt<'a>,
) -> password_hash::Result<PasswordHash<'a>> {
    let algorithm = Algorithm::try_from(algorithm)?;
    let version = version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf)?;
    let count = params.block_count();
    if memory.len() < count {
        memory.resize(count, Block::default());
    }
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let output = Output::init_with(output_len, |out| {
        Ok(argon2.hash_password_into_with_memory(
            password,
            salt_bytes,
            out,
            &mut memory[..count],
        )?)
    })?;
    Ok(PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt),
        hash: Some(output),
    })
}

/// Argon2id with the crate's defaults (19 MiB, 2 passes: OWASP's recommendation).
pub async fn hash_password(gate: &Arc<PasswordGate>, password: String) -> Result<String, AppError> {
    gate.run(move |memory| {
        let mut salt_bytes = [0u8; 16];
        openssl::rand::rand_bytes(&mut salt_bytes).map_err(AppError::internal)?;
        let salt = SaltString::encode_b64(&salt_bytes)
            .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
        argon2_in(
            memory,
            password.as_bytes(),
            Algorithm::Argon2id.ident(),
            None,
            Params::default(),
            salt.as_salt(),
        )
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(anyhow::anyhow!("argon2: {e}")))
    })
    .await
}

/// Checks a password against a stored hash. With no hash (no such account) it still does
/// the work of one check, so timing does not reveal which usernames exist.
pub async fn verify_password(
    gate: &Arc<PasswordGate>,
    password: String,
    hash: Option<String>,
) -> Result<bool, AppError> {
    gate.run(move |memory| {
        let stored = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| AppError::internal(anyhow::anyhow!("stored hash unreadable: {e}")))?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(AppError::internal(anyhow::anyhow!(
                "stored hash incomplete"
            )));
        };
        let params = Params::try_from(&parsed)
            .map_err(|e| AppError::internal(anyhow::anyhow!("stored hash parameters: {e}")))?;
        let computed = argon2_in(
            memory,
            password.as_bytes(),
            parsed.algorithm,
            parsed.version,
            params,
            salt,
        )
        .map_err(|e| AppError::internal(anyhow::anyhow!("argon2: {e}")))?;
        // `Output`'s equality is constant-time.
        let ok = computed.hash.is_some_and(|h| h == expected);
        Ok(ok && stored != DUMMY_HASH)
    })
    .await
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
        let gate = Arc::new(PasswordGate::new(1, 0));
        let h = hash_password(&gate, "correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify_password(&gate, "correct horse".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password(&gate, "wrong horse".into(), Some(h))
                .await
                .unwrap()
        );
        assert!(
            !verify_password(&gate, "anything".into(), None)
                .await
                .unwrap()
        );
    }

    /// Hashes made here and by the `argon2` crate's own API check against each other, so
    /// stored hashes keep working.
    #[tokio::test]
    async fn hashes_match_the_argon2_crates_own() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let gate = Arc::new(PasswordGate::new(1, 0));
        let ours = hash_password(&gate, "pw one".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"pw one", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"pw two", &parsed)
                .is_err()
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"pw three", &salt)
            .unwrap()
            .to_string();
        assert!(
            verify_password(&gate, "pw three".into(), Some(theirs.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password(&gate, "pw four".into(), Some(theirs))
                .await
                .unwrap()
        );
        // Other parameters (an older, cheaper hash) are read from the hash itself.
        let cheap = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw five", &salt)
        .unwrap()
        .to_string();
        assert!(
            verify_password(&gate, "pw five".into(), Some(cheap))
                .await
                .unwrap()
        );
    }

    #[test]
    fn password_gate_admits_workers_and_queue_then_refuses() {
        let gate = Arc::new(PasswordGate::new(2, 3));
        let held: Vec<Admission> = (0..5)
            .map(|i| {
                gate.try_admit()
                    .unwrap_or_else(|| panic!("admission {i} refused"))
            })
            .collect();
        assert!(gate.try_admit().is_none(), "the sixth is refused");
        drop(held.into_iter().next());
        assert!(gate.try_admit().is_some(), "a freed place is given again");
    }

    #[tokio::test]
    async fn a_full_password_gate_answers_busy() {
        let gate = Arc::new(PasswordGate::new(1, 0));
        let _held = gate.try_admit().unwrap();
        let err = verify_password(&gate, "x".into(), None).await.unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
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
    fn session_csrf_tokens_differ_per_session() {
        let a = session_csrf_token(&"a".repeat(64));
        assert_eq!(a.len(), 64);
        assert_eq!(a, session_csrf_token(&"a".repeat(64)));
        assert_ne!(a, session_csrf_token(&"b".repeat(64)));
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
