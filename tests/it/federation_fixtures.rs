//! Real payloads from other servers (tests/fixtures/federation/, origins in SOURCES.md)
//! through the inbox's parsing functions, and a few through the inbox itself (their hosts
//! rewritten to a stand-in peer and to this instance).

use crate::common::TestApp;
use crate::common::peer::{Peer, signed_by};
use diesel::prelude::*;
use serde_json::Value;
use tidings::db::models::Post;
use tidings::db::schema::{posts, reactions};
use tidings::federation::inbox::parse::{
    Audience, Reaction, id_of, ids_of, parse_note, parse_reaction,
};

fn fixture(path: &str) -> Value {
    let full = format!(
        "{}/tests/fixtures/federation/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

#[test]
fn mastodon_note_with_hashtags() {
    let featured = fixture("mastodon/collections/featured.json");
    let note = &featured["orderedItems"][0];
    let n = parse_note(note).unwrap();
    assert_eq!(n.kind, "Note");
    assert_eq!(n.hashtags, ["reddit", "fediverse", "activitypub"]);
    assert_eq!(n.audience, Audience::Public);
    assert_eq!(n.in_reply_to, None);
    assert_eq!(n.attributed_to, "https://mastodon.social/users/LemmyDev");
    assert!(n.text.starts_with("Inaugural Post for Lemmy"), "{}", n.text);
    // Mastodon's hashtag links keep their classes; `rel="tag"` is replaced.
    assert!(
        n.content_html.contains("class=\"mention hashtag\""),
        "{}",
        n.content_html
    );
    assert!(!n.content_html.contains("rel=\"tag\""));
}

#[test]
fn mastodon_unlisted_reply_with_a_mention() {
    let create = fixture("mastodon/activities/create_note.json");
    let n = parse_note(&create["object"]).unwrap();
    assert_eq!(n.audience, Audience::Unlisted);
    assert_eq!(
        n.in_reply_to.as_deref(),
        Some("https://mamot.fr/users/retiolus/statuses/107224244380204526")
    );
    assert_eq!(n.mentions, ["https://mamot.fr/users/retiolus"]);
    assert_eq!(
        n.url.as_deref(),
        Some("https://mastodon.madrid/@felix/107224289116410645")
    );
    assert!(
        n.text
            .starts_with("@retiolus i have never been disappointed")
    );
    assert!(n.hashtags.is_empty());
}

#[test]
fn pleroma_reply_is_sanitised() {
    let create = fixture("pleroma/activities/create_note.json");
    let n = parse_note(&create["object"]).unwrap();
    assert_eq!(n.audience, Audience::Public);
    assert_eq!(
        n.in_reply_to.as_deref(),
        Some("https://enterprise.lemmy.ml/post/55143")
    );
    assert_eq!(n.mentions, ["https://enterprise.lemmy.ml/u/picard"]);
    assert!(!n.content_html.contains("data-user"), "{}", n.content_html);
    assert!(!n.content_html.contains("ugc"), "{}", n.content_html);
    assert!(n.content_html.contains("class=\"u-url mention\""));
}

#[test]
fn lotide_page_title_is_the_headline() {
    let create = fixture("lotide/activities/create_page.json");
    let n = parse_note(&create["object"]).unwrap();
    assert_eq!(n.kind, "Page");
    assert_eq!(n.headline(), "test post from b");
    assert_eq!(n.audience, Audience::Unlisted);
    // The `url` of this link post is the page it shares, on another server: not the
    // post's own page (that is its id), but a link at the end of its body.
    assert_eq!(n.url, None);
    let link = "https://blog.twitter.com/engineering/en_us/a/2010/announcing-snowflake.html";
    assert!(
        n.content_html.ends_with(&format!(
            "<p><a href=\"{link}\" rel=\"nofollow noopener noreferrer\">{link}</a></p>"
        )),
        "{}",
        n.content_html
    );
    assert!(n.text.ends_with(link));
}

#[test]
fn gotosocial_poll_vote_is_not_public() {
    let n = parse_note(&fixture("gotosocial-docs/posts_9.json"));
    // No id: refused with the reason.
    assert_eq!(n.unwrap_err(), "object without id");
    let mut vote = fixture("gotosocial-docs/posts_9.json");
    vote["id"] = "https://sample.com/votes/1".into();
    vote["content"] = "".into();
    let n = parse_note(&vote).unwrap();
    assert_eq!(n.audience, Audience::Limited);
    assert_eq!(n.visibility(None), "direct");
    assert_eq!(n.headline(), "Option 1");
}

#[test]
fn reactions_from_pleroma_misskey_and_lemmy() {
    assert_eq!(
        parse_reaction(&fixture("fep-c0e0/emoji_react_unicode.json")),
        Some(Reaction::Emoji("🔥".into()))
    );
    assert_eq!(
        parse_reaction(&fixture("fep-c0e0/emoji_react_custom.json")),
        Some(Reaction::Unsupported(":blobwtfnotlikethis:".into()))
    );
    assert_eq!(
        parse_reaction(&fixture("misskey/like_unicode_reaction.json")),
        Some(Reaction::Emoji("🔥".into()))
    );
    assert_eq!(
        parse_reaction(&fixture("misskey/like_with_reaction.json")),
        Some(Reaction::Unsupported(":blobcat:".into()))
    );
    assert_eq!(
        parse_reaction(&fixture("lemmy/activities/voting/like_note.json")),
        Some(Reaction::Up)
    );
    assert_eq!(
        parse_reaction(&fixture("lemmy/activities/voting/dislike_page.json")),
        Some(Reaction::Down)
    );
    // Undo: by id (FEP-c0e0) or embedding the activity (Lemmy).
    let undo = fixture("fep-c0e0/undo_emoji_react.json");
    assert_eq!(
        id_of(undo.get("object")).as_deref(),
        Some("https://alice.social/activities/65379d47-b7aa-4ef6-8e4f-41149dda1d2c")
    );
    let undo = fixture("lemmy/activities/voting/undo_like_note.json");
    assert_eq!(
        id_of(undo.get("object")).as_deref(),
        Some("http://ds9.lemmy.ml/activities/like/efcf7ae2-dfcc-4ff4-9ce4-6adf251ff004")
    );
}

#[test]
fn flags_from_mastodon_gotosocial_and_lemmy() {
    let m = fixture("mastodon/activities/flag.json");
    assert_eq!(ids_of(m.get("object")).len(), 3);
    assert_eq!(
        m["content"],
        "Please take a look at this user and their posts"
    );
    let g = fixture("gotosocial-docs/moderation_1.json");
    assert_eq!(
        ids_of(g.get("object")),
        [
            "http://fossbros-anonymous.io/users/foss_satan",
            "http://fossbros-anonymous.io/users/foss_satan/statuses/01FVW7JHQFSFK166WWKR8CBA6M"
        ]
    );
    let l = fixture("lemmy/activities/community/report_page.json");
    assert_eq!(
        ids_of(l.get("object")),
        ["http://enterprise.lemmy.ml/post/7"]
    );
    assert_eq!(l["summary"], "report this post");
}

/// A fixture with its hosts rewritten: `(from, to)` pairs applied to the JSON text.
pub(crate) fn rewritten(path: &str, pairs: &[(&str, &str)]) -> Value {
    let mut text = fixture(path).to_string();
    for (from, to) in pairs {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap()
}

pub(crate) async fn post(app: &TestApp, ap_id: &str) -> Option<Post> {
    let ap_id = ap_id.to_owned();
    app.svc
        .db
        .run(move |conn| {
            Ok(posts::table
                .filter(posts::ap_id.eq(ap_id))
                .first::<Post>(conn)
                .optional()?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn captured_activities_are_handled() {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    let mut alice = app.user("alice").await;
    let story = alice.post_story("Fixtures", "React to me.").await;
    let story_url = format!("http://tidings.test/stories/{story}");
    let peer = Peer::start().await;
    let actor = peer.actor();

    // Mastodon's Note with hashtags, as a Create from the peer.
    let featured = fixture("mastodon/collections/featured.json");
    let mut note = featured["orderedItems"][0].clone();
    let note_id = format!("{}/statuses/1", actor.id);
    note["id"] = note_id.clone().into();
    note["attributedTo"] = actor.id.clone().into();
    let create = serde_json::json!({
        "id": format!("{note_id}/activity"), "type": "Create", "actor": actor.id, "object": note,
    });
    let (status, body) = signed_by(&app, &actor, &create).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    let stored = post(&app, &note_id).await.expect("stored");
    assert!(
        stored
            .headline
            .unwrap()
            .starts_with("Inaugural Post for Lemmy")
    );
    alice
        .get("/tags/activitypub")
        .await
        .assert_contains(&format!("/stories/{}", stored.id));

    // Misskey's Like with a Unicode reaction, FEP-c0e0's EmojiReact and its Undo.
    let misskey = rewritten(
        "misskey/like_unicode_reaction.json",
        &[
            ("https://misskey.example/users/9abcdef012", &actor.id),
            ("https://misskey.example", &peer.base),
            ("https://tidings.example/stories/1", &story_url),
        ],
    );
    let pairs = [
        ("https://alice.social/users/alice", actor.id.as_str()),
        ("https://alice.social", peer.base.as_str()),
        (
            "https://bob.social/objects/57caeb99-424c-4692-b74f-0a6682050932",
            story_url.as_str(),
        ),
    ];
    let react = rewritten("fep-c0e0/emoji_react_unicode.json", &pairs);
    let mut react = react;
    react["content"] = "🎉".into();
    for a in [&misskey, &react] {
        let (status, body) = signed_by(&app, &actor, a).await;
        assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    }
    let emoji = || async {
        app.svc
            .db
            .run(move |conn| {
                Ok(reactions::table
                    .filter(reactions::post_id.eq(story))
                    .order(reactions::emoji.asc())
                    .select(reactions::emoji)
                    .load::<String>(conn)?)
            })
            .await
            .unwrap()
    };
    let mut want = vec!["🎉".to_owned(), "🔥".to_owned()];
    want.sort();
    assert_eq!(emoji().await, want);
    let undo = rewritten("fep-c0e0/undo_emoji_react.json", &pairs);
    let (status, body) = signed_by(&app, &actor, &undo).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    assert_eq!(emoji().await, ["🔥"]);

    // Lemmy's Like and its Undo (embedding the Like).
    let lemmy = [
        ("http://ds9.lemmy.ml/u/lemmy_alpha", actor.id.as_str()),
        ("http://ds9.lemmy.ml/comment/1", story_url.as_str()),
        ("http://ds9.lemmy.ml", peer.base.as_str()),
    ];
    let like = rewritten("lemmy/activities/voting/like_note.json", &lemmy);
    let (status, body) = signed_by(&app, &actor, &like).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    let up = || async {
        app.svc
            .db
            .run(move |conn| {
                Ok(posts::table
                    .find(story)
                    .select(posts::up_count)
                    .first::<i64>(conn)?)
            })
            .await
            .unwrap()
    };
    assert_eq!(up().await, 1);
    // Lemmy's Undo embeds a Like with another id than the one sent above: nothing changes.
    let undo = rewritten("lemmy/activities/voting/undo_like_note.json", &lemmy);
    let (status, _) = signed_by(&app, &actor, &undo).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED);
    assert_eq!(up().await, 1);
    let mut undo = undo;
    undo["id"] = format!("{}/activities/undo/2", peer.base).into();
    undo["object"]["id"] = like["id"].clone();
    let (status, _) = signed_by(&app, &actor, &undo).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED);
    assert_eq!(up().await, 0);

    // Mastodon's boost (the Announce embedded in its captured Undo) counts on the story and
    // tells alice; the Undo takes it back (issue #13, item 5).
    let undo = rewritten(
        "mastodon/activities/undo_announce.json",
        &[
            ("http://mastodon.example.org/users/admin", actor.id.as_str()),
            ("http://mastodon.example.org", peer.base.as_str()),
            (
                "http://lostallofmy.faith/objects/acc592f0-093a-4326-856e-2ab30947ef11",
                story_url.as_str(),
            ),
            (
                "http://lostallofmy.faith/users/admin",
                "http://tidings.test/users/alice",
            ),
        ],
    );
    let shares = || async {
        app.svc
            .db
            .run(move |conn| {
                Ok(posts::table
                    .find(story)
                    .select(posts::share_count)
                    .first::<i64>(conn)?)
            })
            .await
            .unwrap()
    };
    let (status, body) = signed_by(&app, &actor, &undo["object"]).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    assert_eq!(shares().await, 1);
    alice
        .get("/notifications")
        .await
        .assert_contains("boosted your post");
    let (status, body) = signed_by(&app, &actor, &undo).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    assert_eq!(shares().await, 0);
}

const ALICE: &str = "http://tidings.test/users/alice";
const BREEN: &str = "https://as2.blueb.me/users/690d0271-4147-4302-ac50-7806f3ad8f87";

#[test]
fn akkoma_and_misskey_audiences_and_a_misskey_vote() {
    // Akkoma puts the followers collection and the mentioned together in `to`.
    let f = parse_note(&fixture("akkoma/create_followers_only.json")["object"]).unwrap();
    assert_eq!(f.audience, Audience::Limited);
    assert_eq!(f.visibility(None), "private");
    assert_eq!(f.mentions, [BREEN]);
    assert_eq!(f.spoiler_text, "test");
    assert!(!f.content_html.contains("data-user"), "{}", f.content_html);
    let d = parse_note(&fixture("akkoma/create_direct.json")["object"]).unwrap();
    assert_eq!(d.visibility(None), "direct");
    assert_eq!(d.mentions, [BREEN]);
    let m = parse_note(&fixture("misskey/create_direct.json")["object"]).unwrap();
    assert_eq!(m.visibility(None), "direct");
    assert_eq!(m.mentions, [BREEN]);
    // Misskey's vote: a Note named after the option, replying to the poll, to its author.
    let v = parse_note(&fixture("misskey/vote.json")["object"]).unwrap();
    assert_eq!(v.headline(), "Tea");
    assert_eq!(v.visibility(None), "direct");
    assert_eq!(
        v.in_reply_to.as_deref(),
        Some("https://tidings.example/stories/1")
    );
}

/// Whether `who` gets the status `id` from the client API (200) or not (404).
async fn sees(api: &crate::common::api::Api, id: i64) -> bool {
    let (status, _) = api.get(&format!("/api/v1/statuses/{id}")).await;
    assert!(
        status == reqwest::StatusCode::OK || status == reqwest::StatusCode::NOT_FOUND,
        "{status}"
    );
    status == reqwest::StatusCode::OK
}

/// Akkoma's followers-only and direct Creates and Misskey's direct one, captured, from a
/// stand-in peer and addressed to alice: stored with the visibility their addressing
/// gives, shown to alice (addressed) and, for the followers-only one, to bob (a
/// follower), never to carol.
#[tokio::test]
async fn followers_only_and_direct_notes_from_akkoma_and_misskey_reach_exactly_the_addressed() {
    use crate::common::api::Api;
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    for name in ["alice", "bob", "carol"] {
        app.user(name).await;
    }
    let peer = Peer::start().await;
    let actor = peer.actor();
    let akkoma = [
        ("https://akko.eepy.zone/users/harper", actor.id.as_str()),
        ("https://akko.eepy.zone", peer.base.as_str()),
        (BREEN, ALICE),
    ];
    let misskey = [
        (
            "https://eepy.zone/users/9kfweg7wmdw7fnnt",
            actor.id.as_str(),
        ),
        ("https://eepy.zone", peer.base.as_str()),
        (BREEN, ALICE),
    ];
    let direct = rewritten("akkoma/create_direct.json", &akkoma);
    let misskey_direct = rewritten("misskey/create_direct.json", &misskey);
    let followers_only = rewritten("akkoma/create_followers_only.json", &akkoma);
    let mut ids = Vec::new();
    for (i, create) in [direct, misskey_direct, followers_only].iter().enumerate() {
        if i == 2 {
            // bob follows the author before its followers-only note.
            crate::incoming_audience::local_follows(&app, "bob", &actor.id).await;
        }
        let (status, body) = signed_by(&app, &actor, create).await;
        assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
        let stored = post(&app, create["object"]["id"].as_str().unwrap())
            .await
            .expect("stored");
        ids.push((stored.id, stored.visibility));
    }
    let vis: Vec<&str> = ids.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(vis, ["direct", "direct", "private"]);
    let alice = Api::login(&app, "alice").await;
    let bob = Api::login(&app, "bob").await;
    let carol = Api::login(&app, "carol").await;
    for (n, (id, visibility)) in ids.iter().enumerate() {
        assert!(sees(&alice, *id).await, "{n}");
        assert_eq!(sees(&bob, *id).await, visibility == "private", "{n}");
        assert!(!sees(&carol, *id).await, "{n}");
    }
    // alice is told of each (she is mentioned in all three).
    let notes = alice.ok("/api/v1/notifications").await;
    let mut told: Vec<i64> = notes
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "mention")
        .map(|n| n["status"]["id"].as_str().unwrap().parse().unwrap())
        .collect();
    told.sort();
    let mut want: Vec<i64> = ids.iter().map(|(id, _)| *id).collect();
    want.sort();
    assert_eq!(told, want);
    // The followers-only one keeps Akkoma's content warning.
    let (_, st) = alice.get(&format!("/api/v1/statuses/{}", ids[2].0)).await;
    assert_eq!(st["spoiler_text"], "test");
    assert_eq!(st["visibility"], "private");
}

async fn share_count(app: &TestApp, id: i64) -> i64 {
    app.svc
        .db
        .run(move |conn| {
            Ok(posts::table
                .find(id)
                .select(posts::share_count)
                .first::<i64>(conn)?)
        })
        .await
        .unwrap()
}

/// Misskey's renote of our story counts as a boost; Misskey's vote counts in our poll;
/// Mastodon's captured self-boost of a followers-only post counts (as on Mastodon), while
/// another account's boost of it, or any boost of a direct post, is refused.
#[tokio::test]
async fn misskey_renote_and_vote_and_a_private_self_boost() {
    use crate::common::api::Api;
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    let mut alice_web = app.user("alice").await;
    app.user("bob").await;
    let alice = Api::login(&app, "alice").await;
    let story = alice_web.post_story("Renote me", "Please.").await;
    let story_url = format!("http://tidings.test/stories/{story}");
    let (status, poll) = alice
        .form(
            "/api/v1/statuses",
            &[
                ("status", "Tea or coffee?"),
                ("poll[options][]", "Tea"),
                ("poll[options][]", "Coffee"),
                ("poll[expires_in]", "3600"),
            ],
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{poll}");
    let poll_id = poll["id"].as_str().unwrap().to_owned();
    let poll_uri = poll["uri"].as_str().unwrap().to_owned();
    let peer = Peer::start().await;
    let actor = peer.actor();

    let renote = rewritten(
        "misskey/announce.json",
        &[
            ("https://misskey.example/users/9abcdef012", &actor.id),
            ("https://misskey.example", &peer.base),
            ("https://tidings.example/stories/1", &story_url),
        ],
    );
    let (status, body) = signed_by(&app, &actor, &renote).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    assert_eq!(share_count(&app, story).await, 1);

    let vote = rewritten(
        "misskey/vote.json",
        &[
            ("https://misskey.example/users/9abcdef012", &actor.id),
            ("https://misskey.example", &peer.base),
            ("https://tidings.example/users/alice", ALICE),
            ("https://tidings.example/stories/1", &poll_uri),
        ],
    );
    let (status, body) = signed_by(&app, &actor, &vote).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    let (_, p) = alice.get(&format!("/api/v1/polls/{poll_id}")).await;
    assert_eq!(p["options"][0]["votes_count"], 1, "{p}");
    assert_eq!(p["voters_count"], 1);

    // Mastodon's followers-only post (bob follows its author), then its self-boost.
    crate::incoming_audience::local_follows(&app, "bob", &actor.id).await;
    let boost = rewritten(
        "mastodon/activities/announce_private.json",
        &[
            ("http://mastodon.example.org/users/admin", &actor.id),
            ("http://mastodon.example.org", &peer.base),
        ],
    );
    let mut note = boost["object"].clone();
    note["cc"] = serde_json::json!([]);
    let note_id = note["id"].as_str().unwrap().to_owned();
    let create = serde_json::json!({"id": format!("{note_id}/activity"), "type": "Create",
        "actor": actor.id, "to": note["to"], "object": note});
    let (status, body) = signed_by(&app, &actor, &create).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    let private = post(&app, &note_id).await.expect("stored");
    assert_eq!(private.visibility, "private");
    let (status, body) = signed_by(&app, &actor, &boost).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    assert_eq!(share_count(&app, private.id).await, 1);
    // Someone else's boost of it is refused, and changes nothing.
    let other = peer.add_actor("other").await;
    let mut theirs = boost.clone();
    theirs["actor"] = other.id.clone().into();
    theirs["id"] = format!("{}/boosts/1", other.id).into();
    let (status, body) = signed_by(&app, &other, &theirs).await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("only by their author"), "{body}");
    assert_eq!(share_count(&app, private.id).await, 1);
    // A direct post cannot be boosted, even by its author.
    let direct = rewritten(
        "misskey/create_direct.json",
        &[
            ("https://eepy.zone/users/9kfweg7wmdw7fnnt", &actor.id),
            ("https://eepy.zone", &peer.base),
            (BREEN, ALICE),
        ],
    );
    let (status, body) = signed_by(&app, &actor, &direct).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    let dm = post(&app, direct["object"]["id"].as_str().unwrap())
        .await
        .expect("stored");
    let mut boost_dm = boost.clone();
    boost_dm["id"] = format!("{}/boosts/dm", actor.id).into();
    boost_dm["object"] = direct["object"]["id"].clone();
    let (status, body) = signed_by(&app, &actor, &boost_dm).await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(share_count(&app, dm.id).await, 0);
}

/// An `Announce` of a post we do not have: the post is fetched by its id from its own
/// server (never taken from the announcer's embedded copy), stored, and the boost counted
/// and shown to the booster's followers. A post that cannot be had, or whose server
/// answers with a document of another server, is refused and nothing is stored.
#[tokio::test]
async fn an_announce_of_an_unknown_post_fetches_it_from_its_server() {
    use crate::common::api::Api;
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    app.user("bob").await;
    let origin = Peer::start().await;
    let booster_peer = Peer::start().await;
    let booster = booster_peer.actor();
    let author = origin.add_actor("author").await;
    let note_id = format!("{}/notes/1", origin.base);
    origin.serve(
        "/notes/1",
        serde_json::json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": note_id, "type": "Note", "attributedTo": author.id,
            "content": "<p>The real post</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [format!("{}/followers", author.id)],
        }),
    );
    // Mastodon's boost shape (the Announce of its captured Undo), pointed at that post,
    // with a forged copy embedded.
    let undo = rewritten(
        "mastodon/activities/undo_announce.json",
        &[
            (
                "http://mastodon.example.org/users/admin",
                booster.id.as_str(),
            ),
            ("http://mastodon.example.org", booster_peer.base.as_str()),
            (
                "http://lostallofmy.faith/objects/acc592f0-093a-4326-856e-2ab30947ef11",
                note_id.as_str(),
            ),
            ("http://lostallofmy.faith/users/admin", author.id.as_str()),
        ],
    );
    let mut announce = undo["object"].clone();
    announce["object"] = serde_json::json!({
        "id": note_id, "type": "Note", "attributedTo": author.id,
        "content": "<p>A forged copy</p>", "to": ["https://www.w3.org/ns/activitystreams#Public"],
    });
    // Bob follows the booster (known once it has signed something).
    let (status, _) = signed_by(&app, &booster, &booster_peer.follow(1)).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED);
    crate::incoming_audience::local_follows(&app, "bob", &booster.id).await;

    let (status, body) = signed_by(&app, &booster, &announce).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    let stored = post(&app, &note_id).await.expect("fetched and stored");
    assert_eq!(stored.body, "The real post");
    assert_eq!(share_count(&app, stored.id).await, 1);
    let bob = Api::login(&app, "bob").await;
    let home = bob.ok("/api/v1/timelines/home").await;
    let first = &home.as_array().unwrap()[0];
    assert_eq!(first["reblog"]["uri"], note_id.as_str(), "{home}");
    assert_eq!(
        first["account"]["acct"].as_str().unwrap().split('@').next(),
        Some("remote")
    );

    // Not at its origin: refused, nothing stored.
    let missing = format!("{}/notes/2", origin.base);
    let mut gone = announce.clone();
    gone["id"] = format!("{}/boosts/2", booster.id).into();
    gone["object"] = missing.clone().into();
    let (status, body) = signed_by(&app, &booster, &gone).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{body}");
    assert!(post(&app, &missing).await.is_none());

    // Served with an id on another server (the booster's): refused, nothing stored.
    let spoof = format!("{}/notes/3", origin.base);
    let elsewhere = format!("{}/notes/3", booster_peer.base);
    origin.serve(
        "/notes/3",
        serde_json::json!({
            "id": elsewhere, "type": "Note", "attributedTo": booster.id,
            "content": "<p>Not from here</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        }),
    );
    let mut spoofed = announce.clone();
    spoofed["id"] = format!("{}/boosts/3", booster.id).into();
    spoofed["object"] = spoof.clone().into();
    let (status, body) = signed_by(&app, &booster, &spoofed).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{body}");
    assert!(post(&app, &spoof).await.is_none());
    assert!(post(&app, &elsewhere).await.is_none());
}
