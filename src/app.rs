//! Builds the application (router + state), binds (port 0 works for tests) and serves.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
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
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    router: Router,
    pub services: Services,
    /// The federation delivery worker, stopped when serving ends.
    delivery: tokio::task::JoinHandle<()>,
}

impl Application {
    /// Connects to the database (applying migrations) and binds the listen address.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let url = config.database_url.clone();
        let pool_size = config.db_pool_size;
        let db = tokio::task::spawn_blocking(move || Db::connect(&url, pool_size)).await??;
        Self::build_with_db(config, db).await
    }

    pub async fn build_with_db(config: Config, db: Db) -> anyhow::Result<Application> {
        let tls = match &config.tls {
            Some((cert, key)) => Some(crate::tls::server_config(cert, key)?),
            None => None,
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        let services = Services::new(db, config);
        let router = router(services.clone());
        let delivery = crate::federation::delivery::start(services.clone());
        Ok(Application {
            listener,
            tls,
            router,
            services,
            delivery,
        })
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
        let service = self
            .router
            .into_make_service_with_connect_info::<PeerAddr>();
        match self.tls {
            Some(tls) => {
                let listener = crate::tls::TlsListener::new(self.listener, tls)?;
                axum::serve(listener, service)
                    .with_graceful_shutdown(stop)
                    .await?
            }
            None => {
                axum::serve(self.listener, service)
                    .with_graceful_shutdown(stop)
                    .await?
            }
        }
        Ok(())
    }
}

/// The address of the connection's peer, for `ConnectInfo` over plain TCP and over TLS
/// alike.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TcpListener>>
    for PeerAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, TcpListener>) -> PeerAddr {
        PeerAddr(*stream.remote_addr())
    }
}

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, crate::tls::TlsListener>>
    for PeerAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, crate::tls::TlsListener>) -> PeerAddr {
        PeerAddr(*stream.remote_addr())
    }
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
        // ActivityPub requests for HTML page URLs (`/@name`, `/stories/{id}`) get JSON.
        .layer(axum::middleware::from_fn_with_state(
            services,
            crate::federation::negotiate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            crate::http_limit::Limiter::default(),
            crate::http_limit::layer,
        ))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http())
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
