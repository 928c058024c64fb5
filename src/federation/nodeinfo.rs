//! NodeInfo 2.0 and 2.1: what software this is and how busy it is.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::protocol::{
    JrdLink, LinkList, NODEINFO_20, NODEINFO_21, NodeInfo, NodeMetadata, NodeServices, Software,
    Usage, UsageUsers,
};
use super::{FedResult, json_as, store};
use crate::service::Services;

pub const SOFTWARE: &str = "tidings";
/// Where the source is (NodeInfo 2.1 `software.repository`): `repository` in Cargo.toml,
/// left out while that is not set (we do not make up an address).
pub const REPOSITORY: Option<&str> = match option_env!("CARGO_PKG_REPOSITORY") {
    Some(r) if !r.is_empty() => Some(r),
    _ => None,
};

const CONTENT_20: &str =
    "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.0#\"";
const CONTENT_21: &str =
    "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"";

fn cors(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

/// `GET /.well-known/nodeinfo`
pub async fn well_known(State(svc): State<Services>) -> Response {
    let link = |rel: &str, version: &str| JrdLink {
        rel: rel.into(),
        kind: None,
        href: Some(format!("{}/nodeinfo/{version}", svc.base_url())),
        template: None,
    };
    let body = LinkList {
        links: vec![link(NODEINFO_20, "2.0"), link(NODEINFO_21, "2.1")],
    };
    cors(json_as(
        StatusCode::OK,
        "application/json; charset=utf-8",
        &body,
    ))
}

async fn document(svc: &Services, v21: bool) -> Result<NodeInfo, super::FedError> {
    let stats = store::stats(svc).await?;
    let info = crate::service::instance::info(svc).await?;
    Ok(NodeInfo {
        version: if v21 { "2.1" } else { "2.0" }.into(),
        software: Software {
            name: SOFTWARE.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            repository: REPOSITORY.filter(|_| v21).map(str::to_owned),
            homepage: REPOSITORY.filter(|_| v21).map(str::to_owned),
        },
        protocols: vec!["activitypub".into()],
        services: NodeServices::default(),
        open_registrations: info.registrations.is_open(),
        usage: Usage {
            users: UsageUsers {
                total: stats.users,
                active_month: stats.active_month,
                active_halfyear: stats.active_halfyear,
            },
            local_posts: stats.local_posts,
        },
        metadata: NodeMetadata {
            node_name: info.name.clone(),
            node_description: info.short_description.clone(),
        },
    })
}

/// `GET /nodeinfo/2.0`
pub async fn v20(State(svc): State<Services>) -> FedResult {
    let doc = document(&svc, false).await?;
    Ok(cors(json_as(StatusCode::OK, CONTENT_20, &doc)))
}

/// `GET /nodeinfo/2.1`
pub async fn v21(State(svc): State<Services>) -> FedResult {
    let doc = document(&svc, true).await?;
    Ok(cors(json_as(StatusCode::OK, CONTENT_21, &doc)))
}
