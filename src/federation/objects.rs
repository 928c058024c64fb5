//! From our views and rows to the wire types of [`super::protocol`]: actors, notes,
//! activities. Pure functions; no I/O.

use crate::api::entities::{default_avatar, status_content};
use crate::db::models::Account;
use crate::domain::text::render;
use crate::domain::time::rfc3339;
use crate::service::posts::PostView;

use super::protocol::{
    Activity, Actor, Endpoints, Image, Note, PUBLIC, PublicKey, Tag, Tombstone, actor_context,
    object_context,
};

/// The URLs an instance's ActivityPub objects live at.
#[derive(Debug, Clone)]
pub struct Urls {
    /// `scheme://domain`.
    pub base: String,
    /// The domain (with the port when there is one), as in `acct:name@domain`.
    pub domain: String,
}

impl Urls {
    pub fn actor(&self, username: &str) -> String {
        format!("{}/users/{username}", self.base)
    }

    pub fn profile(&self, username: &str) -> String {
        format!("{}/@{username}", self.base)
    }

    pub fn instance_actor(&self) -> String {
        format!("{}/actor", self.base)
    }

    pub fn shared_inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }

    pub fn tag(&self, key: &str) -> String {
        format!("{}/tags/{key}", self.base)
    }
}

/// A local account as a `Person`.
pub fn person(urls: &Urls, account: &Account) -> Actor {
    let id = account.ap_id.clone();
    let name = if account.display_name.trim().is_empty() {
        account.username.clone()
    } else {
        account.display_name.clone()
    };
    Actor {
        context: actor_context(),
        kind: "Person".into(),
        preferred_username: account.username.clone(),
        name,
        summary: render(&account.bio, &urls.base),
        url: account
            .url
            .clone()
            .unwrap_or_else(|| urls.profile(&account.username)),
        inbox: account
            .inbox_url
            .clone()
            .unwrap_or_else(|| format!("{id}/inbox")),
        outbox: format!("{id}/outbox"),
        followers: Some(
            account
                .followers_url
                .clone()
                .unwrap_or_else(|| format!("{id}/followers")),
        ),
        following: Some(format!("{id}/following")),
        endpoints: Endpoints {
            shared_inbox: account
                .shared_inbox_url
                .clone()
                .unwrap_or_else(|| urls.shared_inbox()),
        },
        icon: Some(Image {
            kind: "Image".into(),
            media_type: "image/png".into(),
            url: default_avatar(&urls.base),
        }),
        published: Some(rfc3339(&account.created_at)),
        manually_approves_followers: false,
        discoverable: true,
        indexable: true,
        public_key: PublicKey {
            id: format!("{id}#main-key"),
            owner: id.clone(),
            public_key_pem: account.public_key_pem.clone(),
        },
        id,
    }
}

/// The instance actor (`Application`), named after the domain as Mastodon's is.
pub fn instance_actor(urls: &Urls, public_key_pem: &str) -> Actor {
    let id = urls.instance_actor();
    Actor {
        context: actor_context(),
        kind: "Application".into(),
        preferred_username: urls.domain.clone(),
        name: urls.domain.clone(),
        summary: String::new(),
        url: format!("{}/", urls.base),
        inbox: format!("{id}/inbox"),
        outbox: format!("{id}/outbox"),
        followers: None,
        following: None,
        endpoints: Endpoints {
            shared_inbox: urls.shared_inbox(),
        },
        icon: None,
        published: None,
        manually_approves_followers: true,
        discoverable: false,
        indexable: false,
        public_key: PublicKey {
            id: format!("{id}#main-key"),
            owner: id.clone(),
            public_key_pem: public_key_pem.to_owned(),
        },
        id,
    }
}

/// The audience of a post from its visibility: (`to`, `cc`), as Mastodon addresses it
/// (docs/visibility.md). Mentioned actors are added to `cc` (to `to` for direct posts).
pub fn audience(
    visibility: &str,
    followers: &str,
    mentioned: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut to = Vec::new();
    let mut cc = Vec::new();
    match visibility {
        "public" => {
            to.push(PUBLIC.to_owned());
            cc.push(followers.to_owned());
        }
        "unlisted" => {
            to.push(followers.to_owned());
            cc.push(PUBLIC.to_owned());
        }
        "private" => to.push(followers.to_owned()),
        _ => {}
    }
    if visibility == "direct" {
        to.extend(mentioned.iter().cloned());
    } else {
        cc.extend(mentioned.iter().filter(|m| !to.contains(m)).cloned());
    }
    (to, cc)
}

/// A story or reply as a `Note`: the headline in bold inside `content`, as client apps
/// show it, hashtags and mentions in `tag`, `inReplyTo` the parent for replies.
pub fn note(urls: &Urls, post: &PostView, parent_ap_id: Option<String>) -> Note {
    let actor = post.author.ap_id.clone();
    let followers = format!("{actor}/followers");
    let mention_actors: Vec<String> = post.mentions.iter().map(|m| m.ap_id.clone()).collect();
    let (to, cc) = audience(&post.visibility, &followers, &mention_actors);
    let mut tag: Vec<Tag> = post
        .tags
        .iter()
        .map(|t| Tag {
            kind: "Hashtag".into(),
            name: format!("#{}", t.name),
            href: urls.tag(&t.key),
        })
        .collect();
    tag.extend(post.mentions.iter().map(|m| Tag {
        kind: "Mention".into(),
        name: if m.local {
            format!("@{}@{}", m.username, urls.domain)
        } else {
            format!("@{}", m.acct)
        },
        href: m.ap_id.clone(),
    }));
    let spoiler = post.spoiler_text.trim();
    let note = Note {
        context: None,
        id: post.ap_id.clone(),
        kind: "Note".into(),
        attributed_to: actor,
        summary: (!spoiler.is_empty()).then(|| spoiler.to_owned()),
        content: status_content(post),
        in_reply_to: parent_ap_id,
        published: rfc3339(&post.created_at),
        updated: post.edited_at.as_ref().map(rfc3339),
        url: post.url.clone(),
        to,
        cc,
        sensitive: post.sensitive || !spoiler.is_empty(),
        tag,
        replies: Some(format!("{}/replies", post.ap_id)),
        one_of: None,
        any_of: None,
        end_time: None,
        closed: None,
        voters_count: None,
        attachment: attachments(urls, post),
    };
    super::polls::with_poll(note, post.poll.as_ref())
}

/// A post's processed images as `Document`s (the files on our host).
fn attachments(urls: &Urls, post: &PostView) -> Vec<super::protocol::Document> {
    post.media
        .iter()
        .filter_map(|m| {
            Some(super::protocol::Document {
                kind: "Document".into(),
                media_type: m.content_type.clone()?,
                url: crate::service::media::file_url(&urls.base, m.file_name.as_deref()?),
                name: Some(m.description.clone()).filter(|d| !d.is_empty()),
                blurhash: m.blurhash.clone(),
                width: m.width,
                height: m.height,
                focal_point: m.focus_x.zip(m.focus_y).map(|(x, y)| [x, y]),
            })
        })
        .collect()
}

/// A note standing alone (with its `@context`).
pub fn note_document(urls: &Urls, post: &PostView, parent_ap_id: Option<String>) -> Note {
    Note {
        context: Some(object_context()),
        ..note(urls, post, parent_ap_id)
    }
}

/// The `Create` of a note, as an outbox lists it.
pub fn create(urls: &Urls, post: &PostView, parent_ap_id: Option<String>) -> Activity<Note> {
    let object = note(urls, post, parent_ap_id);
    Activity {
        context: None,
        id: format!("{}/activity", object.id),
        kind: "Create".into(),
        actor: object.attributed_to.clone(),
        published: object.published.clone(),
        to: object.to.clone(),
        cc: object.cc.clone(),
        object,
    }
}

/// What a deleted note's id answers.
pub fn tombstone(ap_id: &str) -> Tombstone {
    Tombstone {
        context: Some(object_context()),
        id: ap_id.to_owned(),
        kind: "Tombstone".into(),
        former_type: Some("Note".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_posts_go_to_everyone_and_copy_followers() {
        let (to, cc) = audience("public", "F", &["M".into()]);
        assert_eq!(to, vec![PUBLIC.to_owned()]);
        assert_eq!(cc, vec!["F".to_owned(), "M".to_owned()]);
    }

    #[test]
    fn unlisted_and_direct_audiences() {
        let (to, cc) = audience("unlisted", "F", &[]);
        assert_eq!((to, cc), (vec!["F".to_owned()], vec![PUBLIC.to_owned()]));
        let (to, cc) = audience("direct", "F", &["M".into()]);
        assert_eq!((to, cc), (vec!["M".to_owned()], Vec::<String>::new()));
        let (to, cc) = audience("private", "F", &["M".into()]);
        assert_eq!((to, cc), (vec!["F".to_owned()], vec!["M".to_owned()]));
    }
}
