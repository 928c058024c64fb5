//! Builds the application (router + state), binds (port 0 works for tests) and serves.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::db::Db;
use crate::service::Services;

/// Largest request body accepted (forms and, later, activities).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct Application {
    listener: TcpListener,
    /// Set when serving HTTPS ourselves (`--tls-cert`, `--tls-key`).
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    pub services: Services,
    /// The federation delivery worker, stopped when serving ends.
    delivery: tokio::task::JoinHandle<()>,
    /// Prunes the inbox's record of received activity ids; stopped when serving ends.
    pruning: tokio::task::JoinHandle<()>,
    /// The metrics listener (`--metrics-listen`), bound but not yet serving.
    metrics: Option<TcpListener>,
    /// Handles ended polls (notifications, last Update); stopped when serving ends.
    polls: tokio::task::JoinHandle<()>,
    /// Automatic HTTPS (`--acme-email`), started when serving starts.
    acme: Option<AcmeParts>,
}

/// The ACME certificate manager and its optional plain-HTTP listener.
struct AcmeParts {
    manager: crate::acme::Manager,
    /// `--acme-http-listen`, bound, with its routes (HTTP-01 answers, HTTPS redirects).
    http: Option<(TcpListener, Router)>,
}

impl Application {
    /// Connects to the database (applying migrations) and binds the listen address.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let url = config.database_url.clone();
        let pool_size = config.db_pool_size;
        let backend = crate::db::Backend::from_url(&url).map_err(anyhow::Error::msg)?;
        let db = tokio::task::spawn_blocking(move || Db::connect(&url, pool_size))
            .await?
            .map_err(|e| {
                // On PostgreSQL a read-only session or role already fails while migrating.
                let cause = format!("{e:#}");
                if cause.contains("read-only") || cause.contains("readonly") {
                    read_only(backend.name(), &cause)
                } else {
                    e
                }
            })?;
        check_writable(&db).await?;
        Self::build_with_db(config, db).await
    }

    /// Settles the instance's identity (see `service::identity`) and binds.
    pub async fn build_with_db(mut config: Config, db: Db) -> anyhow::Result<Application> {
        let origin = crate::service::identity::settle(
            &db,
            &mut config,
            crate::service::identity::Settle::Store,
        )
        .await?;
        tracing::info!(domain = %config.domain, scheme = %config.scheme, ?origin, "instance identity");
        let mut tls = match &config.tls {
            Some((cert, key)) => Some(crate::tls::server_config(cert, key)?),
            None => None,
        };
        let acme = match &config.acme {
            Some(acme) => {
                let challenges = Arc::new(crate::acme::Challenges::default());
                let manager = crate::acme::Manager::new(
                    &config.domain,
                    &config.data_dir,
                    acme.clone(),
                    challenges.clone(),
                )?;
                let http = match acme.http_listen {
                    Some(addr) => {
                        let listener = TcpListener::bind(addr).await.map_err(|e| {
                            anyhow::anyhow!("cannot listen on {addr} (--acme-http-listen): {e}")
                        })?;
                        let routes = crate::acme::challenge::http_router(
                            challenges.clone(),
                            config.base_url(),
                        );
                        Some((listener, routes))
                    }
                    None => None,
                };
                tls = Some(crate::tls::acme_server_config(challenges)?);
                Some(AcmeParts { manager, http })
            }
            None => None,
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        let metrics =
            match config.metrics_listen {
                Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
                    anyhow::anyhow!("cannot listen on {addr} (--metrics-listen): {e}")
                })?),
                None => None,
            };
        let services = Services::new(db, config);
        let router = router(services.clone());
        let delivery = crate::federation::delivery::start(services.clone());
        let pruning = crate::federation::inbox::start_pruning(services.clone());
        let polls = crate::service::polls::start_closing(services.clone());
        Ok(Application {
            listener,
            tls,
            router,
            services,
            delivery,
            pruning,
            metrics,
            polls,
            acme,
        })
    }

    /// The plain-HTTP address of `--acme-http-listen`, when set.
    pub fn acme_http_addr(&self) -> Option<SocketAddr> {
        let (listener, _) = self.acme.as_ref()?.http.as_ref()?;
        listener.local_addr().ok()
    }

    /// The address `/metrics` is served on, when `--metrics-listen` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until ctrl-c / SIGTERM.
    pub async fn run(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves (HTTP, or HTTPS when configured) until the future completes.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let _worker = AbortOnDrop(self.delivery);
        let _pruning = AbortOnDrop(self.pruning);
        let _metrics = self
            .metrics
            .map(|l| AbortOnDrop(crate::metrics::serve(self.services.clone(), l)));
        let _polls = AbortOnDrop(self.polls);
        let limits = ConnectionLimits {
            header_read_timeout: self.services.config.header_read_timeout,
            max_connections: self.services.config.max_connections,
        };
        let mut _acme = Vec::new();
        if let Some(acme) = self.acme {
            _acme.push(AbortOnDrop(tokio::spawn(acme.manager.run())));
            if let Some((listener, routes)) = acme.http {
                _acme.push(AbortOnDrop(tokio::spawn(async move {
                    let stop = std::future::pending::<()>();
                    if let Err(e) = serve(listener, None, routes, limits, stop).await {
                        tracing::error!(error = %e, "the --acme-http-listen listener stopped");
                    }
                })));
            }
        }
        serve(self.listener, self.tls, self.router, limits, stop).await
    }
}

/// The limits every connection is served under.
#[derive(Debug, Clone, Copy)]
struct ConnectionLimits {
    /// How long a client may take to send a request's headers (hyper's
    /// `header_read_timeout`, counted from the start of the connection or the end of the
    /// previous request): slow or silent clients cannot hold a connection for ever.
    header_read_timeout: Duration,
    /// Connections served at once. At the cap no more are accepted; new ones wait in the
    /// kernel's backlog until a slot frees up, so the process never runs out of files.
    max_connections: usize,
}

/// How long serving waits, after the stop signal, for requests in progress to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(35);

/// The accept loop: a slot per connection, the TLS handshake (if any) and HTTP/1.1 in the
/// connection's own task, and a graceful stop. (axum::serve offers neither hyper's timer,
/// which the header-read timeout needs, nor a connection cap.)
async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing_tx, closing_rx) = watch::channel(false);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut warned_full = false;
    tokio::pin!(stop);
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if !warned_full {
                    warned_full = true;
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection cap reached: new connections wait"
                    );
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => slot?,
                    _ = &mut stop => break,
                }
            }
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, as axum does.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        if slots.available_permits() > limits.max_connections / 2 {
            warned_full = false;
        }
        let router = router.clone();
        let acceptor = acceptor.clone();
        let closing = closing_rx.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match acceptor {
                Some(acceptor) => {
                    if let Some(stream) = crate::tls::handshake(&acceptor, tcp, peer).await {
                        serve_connection(stream, peer, router, limits, closing).await;
                    }
                }
                None => serve_connection(tcp, peer, router, limits, closing).await,
            }
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    // Every slot back means every connection is done.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period");
    }
    Ok(())
}

/// Serves HTTP/1.1 on one connection until it ends or serving stops.
async fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut closing: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(PeerAddr(peer)));
        tower::ServiceExt::oneshot(router.clone(), req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            return;
        }
        _ = closing.wait_for(|c| *c) => {}
    }
    conn.as_mut().graceful_shutdown();
    if let Err(e) = conn.await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// The address of the connection's peer, for `ConnectInfo` over plain TCP and over TLS
/// alike.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// Refuses to start on a database Tidings cannot write to (a read-only SQLite file or
/// folder, a read-only PostgreSQL role or `default_transaction_read_only`): such a server
/// would look ready and then fail every write. The probe is a write transaction with a
/// delete that matches no row.
pub async fn check_writable(db: &Db) -> anyhow::Result<()> {
    let backend = db.backend().name();
    let probe = db
        .run(|conn| {
            use diesel::RunQueryDsl;
            Ok(crate::db::write_tx(conn, |conn| {
                diesel::sql_query("DELETE FROM sessions WHERE 1 = 0").execute(conn)?;
                Ok(())
            }))
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot check the {backend} database: {e}"))?;
    probe.map_err(|e| {
        let cause = e.to_string();
        let cause = cause
            .strip_prefix(&format!("{}: ", e.public_message()))
            .unwrap_or(&cause)
            .to_owned();
        read_only(backend, &cause)
    })
}

fn read_only(backend: &str, cause: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the {backend} database is read-only for Tidings ({cause}): give it write access \
         (file and folder permissions, or the role's rights) and start again"
    )
}

/// Stops a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub fn router(services: Services) -> Router {
    crate::api::router(services.clone())
        .merge(crate::federation::router(services.clone()))
        .merge(crate::web::router(services.clone()))
        .merge(
            Router::new()
                .route("/health", axum::routing::get(crate::metrics::health))
                .with_state(services.clone()),
        )
        // ActivityPub requests for HTML page URLs (`/@name`, `/stories/{id}`) get JSON.
        .layer(axum::middleware::from_fn_with_state(
            services.clone(),
            crate::federation::negotiate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            crate::http_limit::Limiter::new(&services.config.trusted_proxies),
            crate::http_limit::layer,
        ))
        .layer(axum::middleware::from_fn(security_headers))
        // Outside the rate limit, so a browser app can read a 429 too.
        .layer(crate::http_cors::CorsOnPaths)
        .layer(axum::middleware::from_fn_with_state(
            upload_body_limit(&services.config),
            body_limit,
        ))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn_with_state(
            services.clone(),
            crate::metrics::layer,
        ))
}

/// The body limit of requests that carry an upload: the media size limit, and room for
/// the other fields of the form.
fn upload_body_limit(config: &Config) -> usize {
    usize::try_from(config.media_max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(MAX_BODY_BYTES)
}

/// Paths whose requests may carry an upload (larger bodies than [`MAX_BODY_BYTES`]).
fn takes_uploads(path: &str) -> bool {
    matches!(path, "/api/v1/media" | "/api/v2/media")
}

/// Limits request bodies: [`MAX_BODY_BYTES`], or the upload limit on paths that take
/// uploads. A declared length over the limit is refused at once (413); a body that grows
/// past it fails while it is read.
async fn body_limit(
    axum::extract::State(upload_limit): axum::extract::State<usize>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit = if takes_uploads(req.uri().path()) {
        upload_limit
    } else {
        MAX_BODY_BYTES
    };
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    next.run(req.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit))))
        .await
}

/// The Content-Security-Policy of HTML pages: scripts and styles only from files of this
/// site (no inline script, no inline style, no event-handler attributes), no plug-ins, no
/// framing, no `<base>` tricks. Forms may post anywhere: the OAuth consent form ends in a
/// redirect to the app, which `form-action` would block in some browsers.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'";

/// `X-Content-Type-Options: nosniff` on every answer; on HTML pages also the CSP, a
/// `Referrer-Policy` that keeps our paths from other sites (links out carry no referrer) and
/// `X-Frame-Options` for browsers that predate `frame-ancestors`.
async fn security_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let mut res = next.run(req).await;
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if is_html {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    res
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
