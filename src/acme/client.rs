//! The ACME client's HTTP requests over reqwest, the HTTP client Tidings already has: the
//! CA is trusted through the usual web roots, plus `--acme-ca-file` for test CAs.

use std::pin::Pin;
use std::time::Duration;

use axum::body::Bytes;
use instant_acme::{BodyWrapper, BytesBody, BytesResponse, HttpClient};

/// How long one request to the CA may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub struct ReqwestClient(reqwest::Client);

impl ReqwestClient {
    pub fn new(extra_ca_pem: Option<&[u8]>) -> anyhow::Result<ReqwestClient> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("Tidings/", env!("CARGO_PKG_VERSION"), " (ACME)"))
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .https_only(true);
        if let Some(pem) = extra_ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        Ok(ReqwestClient(builder.build()?))
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl HttpClient for ReqwestClient {
    fn request(
        &self,
        req: axum::http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let client = self.0.clone();
        Box::pin(async move {
            let other = |e: BoxError| instant_acme::Error::Other(e);
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(axum::body::Body::new(body), usize::MAX)
                .await
                .map_err(|e| other(Box::new(e)))?;
            let res = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|e| other(Box::new(e)))?;
            let mut head = axum::http::Response::builder()
                .status(res.status())
                .version(res.version());
            if let Some(headers) = head.headers_mut() {
                *headers = res.headers().clone();
            }
            let body = res.bytes().await.map_err(|e| other(Box::new(e)))?;
            let (parts, ()) = head.body(()).map_err(|e| other(Box::new(e)))?.into_parts();
            Ok(BytesResponse {
                parts,
                body: Box::new(body) as Box<dyn BytesBody>,
            })
        })
    }
}
