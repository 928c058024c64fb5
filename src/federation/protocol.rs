//! Wire types of discovery and ActivityPub: plain serde structs, no logic. Field names are
//! the ones on the wire (camelCase); optional fields are left out when empty unless a peer
//! expects an explicit `null`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
pub const SECURITY_CONTEXT: &str = "https://w3id.org/security/v1";
/// The audience "everyone".
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// What we answer ActivityPub requests with.
pub const ACTIVITY_JSON: &str = "application/activity+json; charset=utf-8";
pub const JRD_JSON: &str = "application/jrd+json; charset=utf-8";
pub const XRD_XML: &str = "application/xrd+xml; charset=utf-8";

pub const WEBFINGER_PROFILE_PAGE: &str = "http://webfinger.net/rel/profile-page";
pub const NODEINFO_20: &str = "http://nodeinfo.diaspora.software/ns/schema/2.0";
pub const NODEINFO_21: &str = "http://nodeinfo.diaspora.software/ns/schema/2.1";

/// `@context` of actors: ActivityStreams, the security vocabulary (for `publicKey`), and
/// the terms Mastodon reads that are in neither.
pub fn actor_context() -> Value {
    serde_json::json!([
        AS_CONTEXT,
        SECURITY_CONTEXT,
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "Hashtag": "as:Hashtag",
            "sensitive": "as:sensitive"
        }
    ])
}

/// `@context` of objects, activities and collections.
pub fn object_context() -> Value {
    serde_json::json!([
        AS_CONTEXT,
        {
            "Hashtag": "as:Hashtag",
            "sensitive": "as:sensitive",
            "toot": "http://joinmastodon.org/ns#",
            "votersCount": "toot:votersCount",
            "blurhash": "toot:blurhash",
            "focalPoint": { "@container": "@list", "@id": "toot:focalPoint" }
        }
    ])
}

// ---------------------------------------------------------------- WebFinger, host-meta

/// A JSON Resource Descriptor (RFC 7033).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Jrd {
    pub subject: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub links: Vec<JrdLink>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JrdLink {
    pub rel: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

/// `/.well-known/host-meta.json` and `/.well-known/nodeinfo`: a list of links.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkList {
    pub links: Vec<JrdLink>,
}

// ---------------------------------------------------------------- NodeInfo

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub version: String,
    pub software: Software,
    pub protocols: Vec<String>,
    pub services: NodeServices,
    pub open_registrations: bool,
    pub usage: Usage,
    pub metadata: NodeMetadata,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Software {
    pub name: String,
    pub version: String,
    /// NodeInfo 2.1 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// NodeInfo 2.1 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NodeServices {
    pub inbound: Vec<String>,
    pub outbound: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub users: UsageUsers,
    pub local_posts: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageUsers {
    pub total: i64,
    pub active_month: i64,
    pub active_halfyear: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeMetadata {
    pub node_name: String,
    #[serde(default)]
    pub node_description: String,
}

// ---------------------------------------------------------------- actors

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub preferred_username: String,
    pub name: String,
    pub summary: String,
    pub url: String,
    pub inbox: String,
    pub outbox: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub following: Option<String>,
    pub endpoints: Endpoints,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<Image>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub public_key: PublicKey,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub shared_inbox: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    #[serde(rename = "type")]
    pub kind: String,
    pub media_type: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    pub id: String,
    pub owner: String,
    pub public_key_pem: String,
}

// ---------------------------------------------------------------- objects

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    #[serde(rename = "@context", default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub attributed_to: String,
    /// The content warning; an explicit `null` when there is none.
    pub summary: Option<String>,
    pub content: String,
    /// The parent's id for replies; an explicit `null` for stories.
    pub in_reply_to: Option<String>,
    pub published: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    pub url: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub sensitive: bool,
    pub tag: Vec<Tag>,
    /// The id of the collection of direct replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replies: Option<String>,
    /// A poll (`Question`): its options when one may be chosen…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<PollChoice>>,
    /// … or when several may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<PollChoice>>,
    /// When the poll ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// When the poll ended (set once it has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<String>,
    /// How many accounts voted (Mastodon's `toot:votersCount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voters_count: Option<i64>,
    /// Images, as Mastodon sends them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachment: Vec<Document>,
}

/// An attachment of a note, as Mastodon writes it: `name` is the alt text, `blurhash`
/// and `focalPoint` (x, y in -1..1) are Mastodon's terms.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    #[serde(rename = "type")]
    pub kind: String,
    pub media_type: String,
    pub url: String,
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blurhash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focal_point: Option<[f64; 2]>,
}

/// One option of a `Question`: a `Note` named after it, its votes as the `totalItems`
/// of its `replies`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PollChoice {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub replies: PollReplies,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollReplies {
    #[serde(rename = "type")]
    pub kind: String,
    pub total_items: i64,
}

/// A `Hashtag` or a `Mention` in an object's `tag`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub href: String,
}

/// What a deleted object's id answers (with 410 Gone).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    #[serde(rename = "@context", default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub former_type: Option<String>,
}

/// An activity embedding its object (here: the `Create` of a `Note` in an outbox).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Activity<T> {
    #[serde(rename = "@context", default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: String,
    pub published: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub object: T,
}

// ---------------------------------------------------------------- collections

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollection {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub total_items: i64,
    /// The id of the first page.
    pub first: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollectionPage<T> {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub part_of: String,
    pub total_items: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    pub ordered_items: Vec<T>,
}
