//! Link-aggregator communities (FEP-1b12 groups: Lemmy, Mbin, PieFed; issue #17): what a
//! followed community announces is handled as its member's own activity once confirmed at
//! its origin. A stand-in Lemmy on loopback: the community on one server, its members on
//! another; Lemmy's captured payloads (tests/fixtures/federation/lemmy, SOURCES.md) with
//! their hosts rewritten to them.

use crate::common::TestApp;
use crate::common::api::Api;
use crate::common::peer::{Peer, RemoteActor, signed_by};
use crate::federation_fixtures::{post, rewritten};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tidings::db::schema::posts;
use tidings::federation::fetch::fetch_actor;
use url::Url;

async fn up_count(app: &TestApp, id: i64) -> i64 {
    app.svc
        .db
        .run(move |conn| {
            Ok(posts::table
                .find(id)
                .select(posts::up_count)
                .first::<i64>(conn)?)
        })
        .await
        .unwrap()
}

/// The community's `Announce` of `inner`, with a fresh id.
fn announce(group: &RemoteActor, n: u32, inner: Value) -> Value {
    json!({
        "id": format!("{}/activities/announce/{n}", group.id),
        "type": "Announce",
        "actor": group.id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [format!("{}/followers", group.id)],
        "object": inner,
    })
}

/// A stand-in Lemmy: the community `main` on one server, its members on another.
struct Lemmy {
    community: Peer,
    members: Peer,
    group: RemoteActor,
    beta: RemoteActor,
    alpha: RemoteActor,
}

impl Lemmy {
    async fn start() -> Lemmy {
        let community = Peer::start().await;
        let members = Peer::start().await;
        let group = community.add_actor("main").await;
        let beta = members.add_actor("lemmy_beta").await;
        let alpha = members.add_actor("lemmy_alpha").await;
        Lemmy {
            community,
            members,
            group,
            beta,
            alpha,
        }
    }

    /// Lemmy's captured Page (a post with a title), by lemmy_beta, served at `path`.
    fn serve_page(&self, path: &str, name: &str) -> String {
        let id = format!("{}{path}", self.members.base);
        let mut page = rewritten(
            "lemmy/objects/page.json",
            &[
                ("https://enterprise.lemmy.ml/post/55143", &id),
                ("https://enterprise.lemmy.ml/u/picard", &self.beta.id),
                ("https://enterprise.lemmy.ml/c/tenforward", &self.group.id),
                ("https://enterprise.lemmy.ml", &self.members.base),
            ],
        );
        page["name"] = name.into();
        self.members.serve(path, page);
        id
    }

    /// Lemmy's captured Announce of a Create of a Page, pointed at `page`.
    fn announce_create_page(&self, page: &str) -> Value {
        rewritten(
            "lemmy/activities/community/announce_create_page.json",
            &[
                ("http://enterprise.lemmy.ml/post/7", page),
                ("http://enterprise.lemmy.ml/c/main", &self.group.id),
                ("http://enterprise.lemmy.ml/u/lemmy_beta", &self.beta.id),
                (
                    "http://enterprise.lemmy.ml/activities/create",
                    &format!("{}/activities/create", self.members.base),
                ),
                ("http://enterprise.lemmy.ml", &self.community.base),
            ],
        )
    }
}

#[tokio::test]
async fn a_communitys_announces_are_confirmed_at_their_origin_and_handled() {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    let mut alice_web = app.user("alice").await;
    app.user("bob").await;
    let lemmy = Lemmy::start().await;
    // bob follows the community.
    fetch_actor(&app.svc, &Url::parse(&lemmy.group.id).unwrap())
        .await
        .unwrap();
    crate::incoming_audience::local_follows(&app, "bob", &lemmy.group.id).await;

    // A post: Lemmy's Announce(Create(Page)); the Page is fetched from its author's
    // server (the embedded copy has no content, the served one has).
    let page = lemmy.serve_page("/post/7", "Post title");
    let (status, body) = signed_by(&app, &lemmy.group, &lemmy.announce_create_page(&page)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let story = post(&app, &page).await.expect("stored");
    assert_eq!(story.headline.as_deref(), Some("Post title"));
    assert_eq!(story.body, "This is a post in the /c/tenforward community");
    assert!(story.in_reply_to_id.is_none());
    // In bob's home timeline, as the community's boost of lemmy_beta's post.
    let bob = Api::login(&app, "bob").await;
    let home = bob.ok("/api/v1/timelines/home").await;
    let first = &home.as_array().unwrap()[0];
    assert_eq!(first["reblog"]["uri"], page.as_str(), "{home}");
    assert!(
        first["account"]["acct"]
            .as_str()
            .unwrap()
            .starts_with("main@")
    );
    assert!(
        first["reblog"]["account"]["acct"]
            .as_str()
            .unwrap()
            .starts_with("lemmy_beta@")
    );

    // A comment: Lemmy's captured Note, announced inside a Create: a reply in the thread.
    let comment_id = format!("{}/comment/38741", lemmy.members.base);
    let note = rewritten(
        "lemmy/objects/note.json",
        &[
            ("https://enterprise.lemmy.ml/comment/38741", &comment_id),
            ("https://enterprise.lemmy.ml/post/55143", &page),
            ("https://enterprise.lemmy.ml/u/picard", &lemmy.beta.id),
        ],
    );
    lemmy.members.serve("/comment/38741", note.clone());
    let create = json!({"id": format!("{}/activities/create/c1", lemmy.members.base),
        "type": "Create", "actor": lemmy.beta.id, "object": note});
    let (status, body) = signed_by(&app, &lemmy.group, &announce(&lemmy.group, 2, create)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let reply = post(&app, &comment_id).await.expect("stored");
    assert_eq!(reply.in_reply_to_id, Some(story.id));
    assert_eq!(reply.body, "first comment!");

    // An edit: the Page as served now.
    lemmy.serve_page("/post/7", "Post title, edited");
    let mut update = lemmy.announce_create_page(&page)["object"].clone();
    update["type"] = "Update".into();
    update["id"] = format!("{}/activities/update/u1", lemmy.members.base).into();
    let (status, body) = signed_by(&app, &lemmy.group, &announce(&lemmy.group, 3, update)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let edited = post(&app, &page).await.unwrap();
    assert_eq!(edited.headline.as_deref(), Some("Post title, edited"));

    // Votes on our story, announced: Lemmy's captured Like and its Undo, confirmed by
    // fetching each from the voter's server.
    let ours = alice_web.post_story("Ours", "Vote on me.").await;
    let ours_url = format!("http://tidings.test/stories/{ours}");
    let voting = [
        ("http://ds9.lemmy.ml/u/lemmy_alpha", lemmy.alpha.id.as_str()),
        ("http://ds9.lemmy.ml/comment/1", ours_url.as_str()),
        ("http://ds9.lemmy.ml", lemmy.members.base.as_str()),
        (
            "https://enterprise.lemmy.ml/c/tenforward",
            lemmy.group.id.as_str(),
        ),
    ];
    let like = rewritten("lemmy/activities/voting/like_note.json", &voting);
    let like_path = like["id"].as_str().unwrap()[lemmy.members.base.len()..].to_owned();
    // Not served at its origin (yet): refused, nothing counted.
    let (status, body) =
        signed_by(&app, &lemmy.group, &announce(&lemmy.group, 4, like.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(up_count(&app, ours).await, 0);
    lemmy.members.serve(&like_path, like.clone());
    let (status, body) =
        signed_by(&app, &lemmy.group, &announce(&lemmy.group, 5, like.clone())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(up_count(&app, ours).await, 1);
    let mut undo = rewritten("lemmy/activities/voting/undo_like_note.json", &voting);
    undo["object"] = like.clone();
    let undo_path = undo["id"].as_str().unwrap()[lemmy.members.base.len()..].to_owned();
    lemmy.members.serve(&undo_path, undo.clone());
    let (status, body) = signed_by(&app, &lemmy.group, &announce(&lemmy.group, 6, undo)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(up_count(&app, ours).await, 0);

    // A post that does not exist at its origin: refused, nothing stored.
    let missing = format!("{}/post/8", lemmy.members.base);
    let (status, body) = signed_by(&app, &lemmy.group, &{
        let mut a = lemmy.announce_create_page(&missing);
        a["id"] = format!("{}/activities/announce/7", lemmy.group.id).into();
        a
    })
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(post(&app, &missing).await.is_none());

    // Lemmy's captured Delete: refused while the post is still there, honoured once its
    // origin answers with a Tombstone.
    let delete = rewritten(
        "lemmy/activities/deletion/delete_page.json",
        &[
            ("http://ds9.lemmy.ml/u/lemmy_alpha", lemmy.beta.id.as_str()),
            ("http://ds9.lemmy.ml/post/1", page.as_str()),
            ("http://ds9.lemmy.ml", lemmy.members.base.as_str()),
            ("http://enterprise.lemmy.ml/c/main", lemmy.group.id.as_str()),
            (
                "https://enterprise.lemmy.ml/c/main",
                lemmy.group.id.as_str(),
            ),
        ],
    );
    let (status, body) = signed_by(
        &app,
        &lemmy.group,
        &announce(&lemmy.group, 8, delete.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(post(&app, &page).await.unwrap().deleted_at.is_none());
    lemmy
        .members
        .serve("/post/7", json!({"id": page, "type": "Tombstone"}));
    let (status, body) = signed_by(&app, &lemmy.group, &announce(&lemmy.group, 9, delete)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(post(&app, &page).await.unwrap().deleted_at.is_some());
}
