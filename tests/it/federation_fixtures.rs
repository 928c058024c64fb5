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
fn rewritten(path: &str, pairs: &[(&str, &str)]) -> Value {
    let mut text = fixture(path).to_string();
    for (from, to) in pairs {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap()
}

async fn post(app: &TestApp, ap_id: &str) -> Option<Post> {
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
