//! Settings from flags and environment, validated once at start.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tidings",
    version,
    about = "A federated community news and microblog server"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the site (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage local accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Make and list invitation links (for `registrations invite`).
    #[command(subcommand)]
    Invite(InviteCommand),
    /// Show or change the instance's settings (name, descriptions, contact, rules,
    /// registrations).
    #[command(subcommand)]
    Instance(InstanceCommand),
    /// Database tools.
    #[command(subcommand)]
    Db(DbCommand),
    /// Block other servers (silence, suspend), or federate only with listed ones.
    #[command(subcommand)]
    Domain(crate::cli_domains::DomainCommand),
    /// Write a consistent backup of the database (and the media folder) into DIR, a new
    /// or empty folder, while the server runs. PostgreSQL needs pg_dump.
    Backup { dir: PathBuf },
    /// Restore a backup from DIR into an empty database (a new data folder, or an empty
    /// PostgreSQL database). PostgreSQL needs pg_restore.
    Restore { dir: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// Make an invitation link and print it.
    Create {
        /// How many people may join with it (default: no limit).
        #[arg(long)]
        max_uses: Option<i32>,
        /// How long it works: 30m, 12h, 7d… (default: forever).
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// List the links made on the command line: link, uses, expiry.
    List,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy the whole SQLite database (--database-url or --data-dir) into an empty
    /// PostgreSQL database, verifying every table's row count; then serve with
    /// `--database-url` set to it.
    Copy {
        /// The PostgreSQL database: postgres://USER@HOST/DB (empty).
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// Print the settings, one `key: value` a line (rules as `rules.N: text`).
    Show,
    /// Change one setting. Keys: name, short_description, description, contact, rules
    /// (one rule a line), registrations (open or closed). A VALUE of `-` is read from
    /// standard input.
    Set { key: String, value: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a local account; the password is read from standard input.
    Create {
        name: String,
        /// Make the account an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// List the sign-ups waiting for approval, oldest first: name, date, e-mail, reason.
    Pending,
    /// Approve a sign-up waiting for approval; the account can log in at once.
    Approve { name: String },
    /// Reject a sign-up waiting for approval; the account is deleted.
    Reject { name: String },
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Public host name (and port, if not the default) people and peers reach us at.
    /// Defaults to localhost with the listen port.
    #[arg(long, env = "TIDINGS_DOMAIN", global = true)]
    pub domain: Option<String>,
    /// Public URL scheme: https, or http for local trials. Defaults to http for
    /// localhost and https otherwise.
    #[arg(long, env = "TIDINGS_SCHEME", global = true)]
    pub scheme: Option<String>,
    /// Address to listen on.
    #[arg(
        long,
        env = "TIDINGS_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: String,
    /// Folder for the SQLite database and other data.
    #[arg(long, env = "TIDINGS_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB.
    /// Defaults to sqlite://DATA_DIR/tidings.db.
    #[arg(long, env = "TIDINGS_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Database connections in the pool.
    #[arg(long, env = "TIDINGS_DB_POOL_SIZE", global = true)]
    pub db_pool_size: Option<u32>,
    /// Let federation fetch from and deliver to private, loopback and link-local
    /// addresses (tests and local trials only; off by default).
    #[arg(long, env = "TIDINGS_ALLOW_PRIVATE_ADDRESSES", global = true)]
    pub allow_private_addresses: bool,
    /// Resolve a host name to a fixed address for federation requests, as `HOST=IP`
    /// (repeatable; comma-separated in the environment). Like curl's `--resolve`: for
    /// test networks whose names are not in DNS, e.g. `alpha.test=127.0.0.11`;
    /// `*.example.test=IP` covers every subdomain.
    #[arg(
        long = "resolve",
        env = "TIDINGS_RESOLVE",
        value_delimiter = ',',
        global = true
    )]
    pub resolve: Vec<String>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "TIDINGS_TLS_CERT", global = true, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "TIDINGS_TLS_KEY", global = true, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Also trust the certificate authorities in this PEM file for outgoing federation
    /// requests (test networks with their own CA).
    #[arg(long, env = "TIDINGS_EXTRA_CA_FILE", global = true)]
    pub extra_ca_file: Option<PathBuf>,
    /// Seconds a client may take to send the headers of a request (from the start of a
    /// connection, or the end of its previous request); then the connection is closed.
    #[arg(
        long,
        env = "TIDINGS_HEADER_READ_TIMEOUT",
        default_value_t = 10,
        global = true
    )]
    pub header_read_timeout: u64,
    /// Client connections served at once; further ones wait to be accepted. Keep it well
    /// under the process's open-file limit (`LimitNOFILE`).
    #[arg(
        long,
        env = "TIDINGS_MAX_CONNECTIONS",
        default_value_t = 512,
        global = true
    )]
    pub max_connections: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed, as addresses or CIDR blocks
    /// (comma-separated), e.g. `127.0.0.1,::1`. None by default: the peer's address is
    /// the client's.
    #[arg(
        long,
        env = "TIDINGS_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<String>,
    /// Days the inbox remembers the ids of activities it received (a delivery seen again
    /// within them changes nothing); older records are pruned hourly. At least 1 (a
    /// signature is accepted for 12 hours).
    #[arg(
        long,
        env = "TIDINGS_INBOX_RETENTION_DAYS",
        default_value_t = 14,
        global = true
    )]
    pub inbox_retention_days: u32,
    /// Serve Prometheus metrics at `GET /metrics` on this address (e.g. `127.0.0.1:9100`),
    /// apart from the public port. Off by default.
    #[arg(long, env = "TIDINGS_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<String>,
    /// Folder of uploaded and cached media files. Defaults to DATA_DIR/media. Several
    /// processes serving one site must share it (a network or shared volume).
    #[arg(long, env = "TIDINGS_MEDIA_DIR", global = true)]
    pub media_dir: Option<PathBuf>,
    /// Largest upload accepted, in megabytes (an image, an avatar or a header); larger
    /// files are refused while they arrive.
    #[arg(
        long,
        env = "TIDINGS_MEDIA_SIZE_LIMIT_MB",
        default_value_t = 16,
        global = true
    )]
    pub media_size_limit_mb: u64,
    #[command(flatten)]
    pub acme: AcmeSettings,
}

/// Automatic HTTPS over ACME (RFC 8555).
#[derive(Debug, Clone, Default, Args)]
pub struct AcmeSettings {
    /// Obtain and renew the HTTPS certificate of --domain automatically over ACME (Let's
    /// Encrypt unless --acme-directory says otherwise), with this contact address, and
    /// serve HTTPS on --listen. The CA checks the domain on port 443 (TLS-ALPN-01), or on
    /// port 80 with --acme-http-listen. Account key and certificates are kept in
    /// DATA_DIR/acme/.
    #[arg(
        long,
        env = "TIDINGS_ACME_EMAIL",
        global = true,
        conflicts_with = "tls_cert"
    )]
    pub acme_email: Option<String>,
    /// The ACME directory URL of another CA (e.g. Let's Encrypt's staging
    /// https://acme-staging-v02.api.letsencrypt.org/directory).
    #[arg(long, env = "TIDINGS_ACME_DIRECTORY", global = true)]
    pub acme_directory: Option<String>,
    /// Trust the CA certificates in this PEM file for the ACME server's own HTTPS (test CAs
    /// such as Pebble).
    #[arg(long, env = "TIDINGS_ACME_CA_FILE", global = true)]
    pub acme_ca_file: Option<PathBuf>,
    /// Also answer the CA's HTTP-01 checks on this plain-HTTP address (port 80, e.g.
    /// `0.0.0.0:80`), and use them instead of TLS-ALPN-01; other requests there are
    /// redirected to HTTPS.
    #[arg(long, env = "TIDINGS_ACME_HTTP_LISTEN", global = true)]
    pub acme_http_listen: Option<String>,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub domain: String,
    pub scheme: String,
    /// `--domain` was given (not defaulted): it must match the stored identity.
    pub domain_given: bool,
    /// `--scheme` was given (not defaulted).
    pub scheme_given: bool,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub db_pool_size: u32,
    /// Federation may reach private and loopback addresses (test mode).
    pub allow_private_addresses: bool,
    /// Fixed addresses for host names (`--resolve`), lower-case host → IP.
    pub resolve: Vec<(String, IpAddr)>,
    /// Certificate chain and key files when serving HTTPS ourselves.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Extra trusted CA certificates (PEM) for outgoing requests.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: std::time::Duration,
    /// Client connections served at once.
    pub max_connections: usize,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long received activity ids are remembered.
    pub inbox_retention: chrono::Duration,
    /// Where `GET /metrics` is served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Where media files live (`--media-dir`, by default DATA_DIR/media).
    pub media_dir: PathBuf,
    /// Largest upload accepted, in bytes.
    pub media_max_bytes: u64,
    /// Automatic HTTPS over ACME, when `--acme-email` is given.
    pub acme: Option<crate::acme::AcmeConfig>,
}

impl Config {
    pub fn from_settings(s: &Settings) -> anyhow::Result<Config> {
        let listen: SocketAddr = s
            .listen
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid --listen address {:?}: {e}", s.listen))?;
        let domain = match &s.domain {
            Some(d) => d.trim().to_ascii_lowercase(),
            None => format!("localhost:{}", listen.port()),
        };
        validate_domain(&domain)?;
        let scheme = match s.scheme.as_deref() {
            Some("http") => "http".to_owned(),
            Some("https") => "https".to_owned(),
            Some(other) => anyhow::bail!("invalid --scheme {other:?}: use https or http"),
            None if s.tls_cert.is_some() || s.acme.acme_email.is_some() => "https".to_owned(),
            None if is_local_host(&domain) => "http".to_owned(),
            None => "https".to_owned(),
        };
        let database_url = match &s.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", s.data_dir.join("tidings.db").display()),
        };
        crate::db::Backend::from_url(&database_url).map_err(anyhow::Error::msg)?;
        let db_pool_size = s.db_pool_size.unwrap_or(8).max(1);
        let tls = match (&s.tls_cert, &s.tls_key) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            (None, None) => None,
            _ => anyhow::bail!("--tls-cert and --tls-key go together"),
        };
        let extra_ca_pem = match &s.extra_ca_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    anyhow::anyhow!("cannot read --extra-ca-file {}: {e}", path.display())
                })?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    anyhow::anyhow!("invalid --extra-ca-file {}: {e}", path.display())
                })?;
                if certs.is_empty() {
                    anyhow::bail!(
                        "invalid --extra-ca-file {}: no certificate in it",
                        path.display()
                    );
                }
                Some(pem)
            }
            None => None,
        };
        let acme = crate::acme::AcmeConfig::from_settings(&s.acme)?;
        if acme.is_some() && s.tls_cert.is_some() {
            anyhow::bail!("--acme-email and --tls-cert exclude each other: choose one");
        }
        if s.header_read_timeout == 0 {
            anyhow::bail!("invalid --header-read-timeout 0: give seconds, at least 1");
        }
        if s.max_connections == 0 {
            anyhow::bail!("invalid --max-connections 0: give at least 1");
        }
        if s.media_size_limit_mb == 0 || s.media_size_limit_mb > 1024 {
            anyhow::bail!(
                "invalid --media-size-limit-mb {}: give megabytes, 1 to 1024",
                s.media_size_limit_mb
            );
        }
        Ok(Config {
            media_dir: s
                .media_dir
                .clone()
                .unwrap_or_else(|| s.data_dir.join("media")),
            media_max_bytes: s.media_size_limit_mb * 1024 * 1024,
            domain,
            scheme,
            domain_given: s.domain.is_some(),
            scheme_given: s.scheme.is_some(),
            listen,
            data_dir: s.data_dir.clone(),
            database_url,
            db_pool_size,
            allow_private_addresses: s.allow_private_addresses,
            resolve: parse_resolve(&s.resolve)?,
            tls,
            extra_ca_pem,
            header_read_timeout: std::time::Duration::from_secs(s.header_read_timeout),
            max_connections: s.max_connections,
            trusted_proxies: parse_trusted_proxies(&s.trusted_proxies)?,
            metrics_listen: match &s.metrics_listen {
                Some(a) => {
                    Some(a.parse().map_err(|e| {
                        anyhow::anyhow!("invalid --metrics-listen address {a:?}: {e}")
                    })?)
                }
                None => None,
            },
            acme,
            inbox_retention: match s.inbox_retention_days {
                0 => anyhow::bail!("invalid --inbox-retention-days 0: give days, at least 1"),
                days => chrono::Duration::days(i64::from(days)),
            },
        })
    }

    /// `scheme://domain`, with no trailing slash.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.domain)
    }

    pub fn secure_cookies(&self) -> bool {
        self.scheme == "https"
    }
}

/// `HOST=IP` pairs of `--resolve`.
fn parse_resolve(entries: &[String]) -> anyhow::Result<Vec<(String, IpAddr)>> {
    entries
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (host, ip) = e
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("invalid --resolve {e:?}: use HOST=IP"))?;
            let ip: IpAddr = ip
                .trim()
                .parse()
                .map_err(|err| anyhow::anyhow!("invalid --resolve {e:?}: {err}"))?;
            Ok((host.trim().to_ascii_lowercase(), ip))
        })
        .collect()
}

/// Addresses and CIDR blocks of `--trusted-proxies`; a bare address is a block of one.
fn parse_trusted_proxies(entries: &[String]) -> anyhow::Result<Vec<ipnet::IpNet>> {
    entries
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.parse::<ipnet::IpNet>()
                .or_else(|_| e.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| {
                    anyhow::anyhow!("invalid --trusted-proxies entry {e:?}: use an address or CIDR")
                })
        })
        .collect()
}

fn is_local_host(domain: &str) -> bool {
    let host = domain.split(':').next().unwrap_or(domain);
    host == "localhost" || host.ends_with(".localhost") || host.starts_with("127.")
}

fn validate_domain(domain: &str) -> anyhow::Result<()> {
    let url = url::Url::parse(&format!("https://{domain}/"))
        .map_err(|e| anyhow::anyhow!("invalid --domain {domain:?}: {e}"))?;
    let round_trip = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    if round_trip != domain {
        anyhow::bail!("invalid --domain {domain:?}: give a host name and optional port only");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            domain: None,
            scheme: None,
            listen: "127.0.0.1:9000".into(),
            data_dir: "d".into(),
            database_url: None,
            db_pool_size: None,
            allow_private_addresses: false,
            resolve: Vec::new(),
            tls_cert: None,
            tls_key: None,
            extra_ca_file: None,
            header_read_timeout: 10,
            max_connections: 512,
            trusted_proxies: Vec::new(),
            inbox_retention_days: 14,
            metrics_listen: None,
            media_dir: None,
            media_size_limit_mb: 16,
            acme: Default::default(),
        }
    }

    #[test]
    fn trusted_proxies_take_addresses_and_blocks() {
        let mut s = settings();
        s.trusted_proxies = vec!["127.0.0.1".into(), " 10.1.2.3/8".into(), "::1".into()];
        let c = Config::from_settings(&s).unwrap();
        let nets: Vec<String> = c.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(nets, ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]);
        s.trusted_proxies = vec!["proxy.local".into()];
        let err = Config::from_settings(&s).unwrap_err().to_string();
        assert!(err.contains("--trusted-proxies"), "{err}");
        assert!(
            Config::from_settings(&settings())
                .unwrap()
                .trusted_proxies
                .is_empty()
        );
    }

    #[test]
    fn resolve_overrides_parse_and_bad_ones_are_named() {
        let mut s = settings();
        s.resolve = vec!["Alpha.test=127.0.0.11".into(), " beta.test = ::1".into()];
        let c = Config::from_settings(&s).unwrap();
        assert_eq!(
            c.resolve,
            vec![
                ("alpha.test".to_owned(), "127.0.0.11".parse().unwrap()),
                ("beta.test".to_owned(), "::1".parse().unwrap()),
            ]
        );
        s.resolve = vec!["gamma.test".into()];
        let err = Config::from_settings(&s).unwrap_err().to_string();
        assert!(
            err.contains("--resolve") && err.contains("gamma.test"),
            "{err}"
        );
    }

    #[test]
    fn defaults_follow_the_listen_port() {
        let c = Config::from_settings(&settings()).unwrap();
        assert_eq!(c.base_url(), "http://localhost:9000");
        assert_eq!(c.database_url, "sqlite://d/tidings.db");
    }

    #[test]
    fn public_domains_default_to_https() {
        let mut s = settings();
        s.domain = Some("News.Example.org".into());
        let c = Config::from_settings(&s).unwrap();
        assert_eq!(c.base_url(), "https://news.example.org");
        assert!(c.secure_cookies());
    }

    #[test]
    fn bad_values_fail_with_the_cause() {
        let mut s = settings();
        s.domain = Some("news.example.org/path".into());
        assert!(
            Config::from_settings(&s)
                .unwrap_err()
                .to_string()
                .contains("--domain")
        );
        let mut s = settings();
        s.database_url = Some("mysql://x".into());
        assert!(
            Config::from_settings(&s)
                .unwrap_err()
                .to_string()
                .contains("unsupported database URL")
        );
        let mut s = settings();
        s.listen = "nowhere".into();
        assert!(
            Config::from_settings(&s)
                .unwrap_err()
                .to_string()
                .contains("--listen")
        );
    }
}
