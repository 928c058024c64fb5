//! Polls (issue #13, item 6): made from the web forms and the API, every bad input refused
//! with nothing stored, votes on the page and through `/api/v1/polls`, results, the
//! `Poll` entity, the end (notified once), and polls on the wire: `Question`s from
//! Mastodon, Pleroma and Misskey (tests/fixtures/federation/), remote votes counted and
//! never stored as replies, our votes sent as Mastodon sends them, `Update(Question)`.

use crate::common::api::Api;
use crate::common::recording_peer::RecordingPeer;
use crate::common::{PASSWORD, TestApp};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tidings::db::schema::{poll_votes, polls, posts};

const ALICE: &str = "http://tidings.test/users/alice";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// A story with a poll from the API (form-encoded); its status.
async fn api_poll(api: &Api, options: &[&str], expires_in: &str, multiple: bool) -> Value {
    let mut fields = vec![
        ("status", "Which one?\n\nTell me"),
        ("poll[expires_in]", expires_in),
    ];
    for o in options {
        fields.push(("poll[options][]", o));
    }
    if multiple {
        fields.push(("poll[multiple]", "true"));
    }
    let (status, body) = api.form("/api/v1/statuses", &fields).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn count(app: &TestApp) -> (i64, i64) {
    app.svc
        .db
        .run(|conn| {
            let p: i64 = posts::table.count().get_result(conn)?;
            let q: i64 = polls::table.count().get_result(conn)?;
            Ok((p, q))
        })
        .await
        .unwrap()
}

/// Ends a poll now (as if its time had passed).
async fn end_poll(app: &TestApp, id: i64) {
    app.svc
        .db
        .write(move |conn| {
            diesel::update(polls::table.find(id))
                .set(polls::expires_at.eq(Some(Utc::now().naive_utc() - Duration::seconds(1))))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

fn id_of(status: &Value) -> i64 {
    status["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn api_polls_have_mastodons_shape() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    app.user("bob").await;
    let alice = Api::login(&app, "alice").await;
    let bob = Api::login(&app, "bob").await;

    let status = api_poll(&alice, &["Tea", "Coffee"], "3600", false).await;
    let poll = &status["poll"];
    assert_eq!(poll["id"], status["id"]);
    assert_eq!(poll["expired"], false);
    assert_eq!(poll["multiple"], false);
    assert_eq!(poll["votes_count"], 0);
    assert_eq!(poll["voters_count"], 0);
    assert_eq!(
        poll["options"],
        json!([{"title": "Tea", "votes_count": 0}, {"title": "Coffee", "votes_count": 0}])
    );
    assert_eq!(poll["emojis"], json!([]));
    // The author counts as having voted (Mastodon's rule): results are theirs to see.
    assert_eq!(poll["voted"], true);
    assert_eq!(poll["own_votes"], json!([]));
    let expires = chrono::DateTime::parse_from_rfc3339(poll["expires_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    let left = expires - Utc::now();
    assert!(
        left > Duration::minutes(58) && left <= Duration::minutes(60),
        "{left}"
    );

    // GET /api/v1/polls/:id, with and without a token.
    let id = status["id"].as_str().unwrap();
    let (code, seen) = bob.get(&format!("/api/v1/polls/{id}")).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(seen["voted"], false);
    assert_eq!(seen["own_votes"], json!([]));
    let anon: Value = reqwest::get(format!("{}/api/v1/polls/{id}", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(anon.get("voted").is_none(), "{anon}");
    assert!(anon.get("own_votes").is_none(), "{anon}");
    let (code, _) = bob.get("/api/v1/polls/12345").await;
    assert_eq!(code, StatusCode::NOT_FOUND);

    // A JSON body, as apps send it; a reply may carry a poll too.
    let (code, reply) = alice
        .json(
            "/api/v1/statuses",
            json!({"status": "And you?", "in_reply_to_id": id,
                   "poll": {"options": ["Yes", "No", "Maybe"], "expires_in": 300, "multiple": true}}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    assert_eq!(reply["in_reply_to_id"], id);
    assert_eq!(reply["poll"]["multiple"], true);
    assert_eq!(reply["poll"]["options"].as_array().unwrap().len(), 3);
    // In the thread as a status with its poll.
    let (_, ctx) = bob.get(&format!("/api/v1/statuses/{id}/context")).await;
    assert_eq!(
        ctx["descendants"][0]["poll"]["options"][2]["title"],
        "Maybe"
    );
    // hide_totals is not supported: refused rather than ignored; false is fine.
    let (code, body) = alice
        .form(
            "/api/v1/statuses",
            &[
                ("status", "Hidden?"),
                ("poll[options][]", "a"),
                ("poll[options][]", "b"),
                ("poll[expires_in]", "600"),
                ("poll[hide_totals]", "true"),
            ],
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (code, _) = alice
        .form(
            "/api/v1/statuses",
            &[
                ("status", "Shown"),
                ("poll[options][]", "a"),
                ("poll[options][]", "b"),
                ("poll[expires_in]", "600"),
                ("poll[hide_totals]", "false"),
            ],
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    // A poll cannot be added by an edit.
    let (code, _) = alice
        .send(
            alice
                .http
                .put(format!("{}/api/v1/statuses/{id}", alice.base))
                .form(&[
                    ("status", "Which one?\n\nTell me"),
                    ("poll[options][]", "x"),
                    ("poll[options][]", "y"),
                    ("poll[expires_in]", "600"),
                ]),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn bad_polls_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let alice = Api::login(&app, "alice").await;
    let before = count(&app).await;
    let long = "x".repeat(51);
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        ("one option", vec!["Only"], "3600"),
        ("five options", vec!["a", "b", "c", "d", "e"], "3600"),
        ("duplicate options", vec!["Same", "same"], "3600"),
        ("an empty option", vec!["a", ""], "3600"),
        ("a too long option", vec!["a", &long], "3600"),
        ("an end in the past", vec!["a", "b"], "-60"),
        ("too short", vec!["a", "b"], "299"),
        ("too long", vec!["a", "b"], "2592001"),
        ("no duration", vec!["a", "b"], ""),
    ];
    for (what, options, expires) in cases {
        let mut fields = vec![("status", "A question")];
        if !expires.is_empty() {
            fields.push(("poll[expires_in]", expires));
        }
        for o in &options {
            fields.push(("poll[options][]", o));
        }
        let (code, body) = alice.form("/api/v1/statuses", &fields).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert!(
            body["error"].as_str().unwrap_or("").contains("oll"),
            "{what}: {body}"
        );
    }
    assert_eq!(count(&app).await, before, "nothing stored");

    // The web form: one option only comes back with what was typed.
    let mut web = app.browser();
    web.post_form("/login", &[("username", "alice"), ("password", PASSWORD)])
        .await;
    let res = web
        .post_form(
            "/submit",
            &[
                ("headline", "Lunch"),
                ("body", "Where?"),
                ("poll_option_1", "The usual place"),
                ("poll_duration", "3600"),
                ("poll_multiple", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("at least 2 options");
    res.assert_contains("value=\"The usual place\"");
    res.assert_contains("value=\"3600\" selected");
    res.assert_contains("name=\"poll_multiple\" value=\"on\" checked");
    res.assert_contains(">Where?</textarea>");
    assert_eq!(count(&app).await, before, "nothing stored");
}

#[tokio::test]
async fn votes_through_the_api_single_and_multiple() {
    let app = TestApp::spawn().await;
    for n in ["alice", "bob", "carol"] {
        app.user(n).await;
    }
    let alice = Api::login(&app, "alice").await;
    let bob = Api::login(&app, "bob").await;
    let carol = Api::login(&app, "carol").await;
    let single = id_of(&api_poll(&alice, &["Tea", "Coffee", "Water"], "3600", false).await);
    let votes = format!("/api/v1/polls/{single}/votes");

    let (code, poll) = bob.form(&votes, &[("choices[]", "1")]).await;
    assert_eq!(code, StatusCode::OK, "{poll}");
    assert_eq!(poll["voted"], true);
    assert_eq!(poll["own_votes"], json!([1]));
    assert_eq!(poll["votes_count"], 1);
    assert_eq!(poll["voters_count"], 1);
    assert_eq!(poll["options"][1]["votes_count"], 1);

    // Refused, each with nothing stored: twice, out of range, two choices on a
    // single-choice poll, no choice, the author's own.
    type Fields<'a> = Vec<(&'a str, &'a str)>;
    let refused: Vec<(&Api, Fields, &str)> = vec![
        (&bob, vec![("choices[]", "0")], "already voted"),
        (&carol, vec![("choices[]", "3")], "not in the poll"),
        (&carol, vec![("choices[]", "-1")], "not in the poll"),
        (
            &carol,
            vec![("choices[]", "0"), ("choices[]", "1")],
            "one choice",
        ),
        (&carol, vec![], "Choose"),
        (&alice, vec![("choices[]", "0")], "your own poll"),
    ];
    for (who, fields, why) in refused {
        let (code, body) = who.form(&votes, &fields).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(why),
            "{why}: {body}"
        );
    }
    let stored: i64 = app
        .svc
        .db
        .run(move |c| Ok(poll_votes::table.count().get_result(c)?))
        .await
        .unwrap();
    assert_eq!(stored, 1);

    // Multiple choice, in a JSON body: two votes, one voter; percentages of voters.
    let multi = id_of(&api_poll(&alice, &["Red", "Green", "Blue"], "3600", true).await);
    let (code, poll) = carol
        .json(
            &format!("/api/v1/polls/{multi}/votes"),
            json!({"choices": ["0", 2]}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{poll}");
    assert_eq!(poll["votes_count"], 2);
    assert_eq!(poll["voters_count"], 1);
    assert_eq!(poll["own_votes"], json!([0, 2]));
    let (_, status) = bob.get(&format!("/api/v1/statuses/{multi}")).await;
    assert_eq!(status["poll"]["options"][2]["votes_count"], 1);
    assert_eq!(status["poll"]["voted"], false);
}

#[tokio::test]
async fn the_end_refuses_votes_and_notifies_voters_and_author_once() {
    let app = TestApp::spawn().await;
    for n in ["alice", "bob", "carol"] {
        app.user(n).await;
    }
    let alice = Api::login(&app, "alice").await;
    let bob = Api::login(&app, "bob").await;
    let carol = Api::login(&app, "carol").await;
    let id = id_of(&api_poll(&alice, &["Yes", "No"], "3600", false).await);
    let (code, _) = bob
        .form(&format!("/api/v1/polls/{id}/votes"), &[("choices[]", "0")])
        .await;
    assert_eq!(code, StatusCode::OK);
    end_poll(&app, id).await;

    let (code, body) = carol
        .form(&format!("/api/v1/polls/{id}/votes"), &[("choices[]", "1")])
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap().contains("ended"), "{body}");
    let (_, poll) = carol.get(&format!("/api/v1/polls/{id}")).await;
    assert_eq!(poll["expired"], true);
    assert_eq!(poll["votes_count"], 1);

    // The end is handled once, however often the job runs (the periodic job of the
    // server may have run in between: together at most one).
    let first = tidings::service::polls::close_ended(&app.svc)
        .await
        .unwrap();
    let second = tidings::service::polls::close_ended(&app.svc)
        .await
        .unwrap();
    assert!(first + second <= 1 && second == 0, "{first} {second}");
    for (who, expected) in [(&bob, 1), (&alice, 1), (&carol, 0)] {
        let (_, list) = who.get("/api/v1/notifications?types[]=poll").await;
        let polls: Vec<&Value> = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] == "poll")
            .collect();
        assert_eq!(polls.len(), expected, "{list}");
        if expected == 1 {
            assert_eq!(polls[0]["status"]["id"], id.to_string());
            assert_eq!(polls[0]["status"]["poll"]["expired"], true);
        }
    }
    // The web notification says it in words.
    let mut web = app.browser();
    web.post_form("/login", &[("username", "bob"), ("password", PASSWORD)])
        .await;
    web.get("/notifications")
        .await
        .assert_contains("a poll you voted in has ended");
}

#[tokio::test]
async fn polls_on_the_pages_vote_and_results() {
    let app = TestApp::spawn().await;
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let res = alice
        .post_form(
            "/submit",
            &[
                ("headline", "Lunch"),
                ("body", "Where shall we go?"),
                ("poll_option_1", "Pizza"),
                ("poll_option_2", "Noodles"),
                ("poll_option_3", ""),
                ("poll_option_4", "Salad"),
                ("poll_duration", "86400"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let path = res.location().to_owned();
    let id: i64 = path.strip_prefix("/stories/").unwrap().parse().unwrap();

    // Bob sees a vote form with radio buttons, no results yet; the author sees results.
    let page = bob.get(&path).await;
    page.assert_contains(&format!("action=\"/polls/{id}/vote\""));
    page.assert_contains("type=\"radio\" name=\"choice\" value=\"2\"> Salad");
    page.assert_lacks("poll-percent");
    alice.get(&path).await.assert_contains("poll-percent");

    // A vote without the CSRF token is refused.
    let res = bob
        .post_raw(&format!("/polls/{id}/vote"), &[("choice", "0")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = bob
        .post_form(
            &format!("/polls/{id}/vote"),
            &[("choice", "2"), ("return_to", path.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), path);
    let page = bob.get(&path).await;
    page.assert_contains("Salad ✓");
    page.assert_contains("<span class=\"poll-percent\">100%</span>");
    page.assert_contains("<span class=\"poll-percent\">0%</span>");
    page.assert_contains("1 vote");
    // Again: refused.
    let res = bob
        .post_form(&format!("/polls/{id}/vote"), &[("choice", "1")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A reply with a multiple-choice poll: checkboxes for the others.
    let res = bob
        .post_form(
            &format!("/posts/{id}/reply"),
            &[
                ("body", "Or both?"),
                ("poll_option_1", "Pizza"),
                ("poll_option_2", "Salad"),
                ("poll_duration", "3600"),
                ("poll_multiple", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let reply_path = res.location().to_owned();
    let page = alice.get(&path).await;
    page.assert_contains("type=\"checkbox\" name=\"choice\" value=\"1\"> Salad");
    let reply_id = reply_path.strip_prefix("/replies/").unwrap();
    let res = alice
        .post_form(
            &format!("/polls/{reply_id}/vote"),
            &[("choice", "0"), ("choice", "1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    alice
        .get(&reply_path)
        .await
        .assert_contains("<span class=\"poll-percent\">100%</span>");
    // A rejected reply keeps its poll fields.
    let res = bob
        .post_form(
            &format!("/posts/{id}/reply"),
            &[
                ("body", "Again"),
                ("poll_option_1", "Lonely"),
                ("poll_duration", "3600"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("value=\"Lonely\"");
    res.assert_contains("at least 2 options");
}

// ---------------------------------------------------------------- federation

fn fixture(path: &str) -> String {
    let full = format!(
        "{}/tests/fixtures/federation/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// A fixture with its server's host replaced by the peer's (its actor is `name` there),
/// and its times moved into the future (so the poll is open).
fn rewritten(path: &str, from: &str, peer: &RecordingPeer) -> Value {
    let text = fixture(path).replace(from, &peer.base);
    serde_json::from_str(&text).unwrap()
}

/// Ann (of `peer`) follows alice.
async fn ann_follows_alice(app: &TestApp, peer: &RecordingPeer) {
    let ann = peer.actor("ann").id.clone();
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{ann}/follows/1"),
        "type": "Follow",
        "actor": ann,
        "object": ALICE,
    });
    peer.send("ann", &format!("{}/users/alice/inbox", app.base), &follow)
        .await;
    peer.wait_for("/users/ann/inbox", "Accept", 1).await;
}

async fn local_id(app: &TestApp, ap_id: &str) -> i64 {
    let ap_id = ap_id.to_owned();
    app.svc
        .db
        .run(move |c| {
            Ok(posts::table
                .filter(posts::ap_id.eq(ap_id))
                .select(posts::id)
                .first::<i64>(c)?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn our_polls_go_out_as_questions_and_remote_votes_count() {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    app.user("alice").await;
    let alice = Api::login(&app, "alice").await;
    let peer = RecordingPeer::start(&["ann", "dan"]).await;
    ann_follows_alice(&app, &peer).await;

    let status = api_poll(&alice, &["Tea", "Coffee"], "3600", false).await;
    let id = id_of(&status);
    let uri = status["uri"].as_str().unwrap().to_owned();
    let create = peer.wait_for("/inbox", "Create", 1).await[0].json();
    let q = &create["object"];
    assert_eq!(q["type"], "Question");
    assert_eq!(
        q["oneOf"],
        json!([
            {"type": "Note", "name": "Tea", "replies": {"type": "Collection", "totalItems": 0}},
            {"type": "Note", "name": "Coffee", "replies": {"type": "Collection", "totalItems": 0}}
        ])
    );
    assert!(q.get("anyOf").is_none());
    assert_eq!(q["votersCount"], 0);
    assert!(q["endTime"].as_str().unwrap().ends_with('Z'));
    assert!(q.get("closed").is_none());
    // Its id answers the same Question.
    let doc: Value = reqwest::Client::new()
        .get(format!("{}/stories/{id}", app.base))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["type"], "Question");
    assert_eq!(doc["oneOf"][1]["name"], "Coffee");

    // Dan votes as Mastodon does (the captured vote, pointed at our poll).
    let dan = peer.actor("dan").id.clone();
    let mut vote: Value = serde_json::from_str(&fixture("mastodon/activities/vote.json")).unwrap();
    vote["actor"] = dan.clone().into();
    vote["id"] = format!("{dan}#votes/387/activity").into();
    vote["to"] = ALICE.into();
    vote["object"]["attributedTo"] = dan.clone().into();
    vote["object"]["id"] = format!("{dan}#votes/387").into();
    vote["object"]["inReplyTo"] = uri.clone().into();
    vote["object"]["to"] = ALICE.into();
    vote["object"]["name"] = "Coffee".into();
    let code = peer
        .send("dan", &format!("{}/users/alice/inbox", app.base), &vote)
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let (_, poll) = alice.get(&format!("/api/v1/polls/{id}")).await;
    assert_eq!(poll["options"][1]["votes_count"], 1);
    assert_eq!(poll["voters_count"], 1);
    // Not a reply.
    let (_, st) = alice.get(&format!("/api/v1/statuses/{id}")).await;
    assert_eq!(st["replies_count"], 0);
    let (_, ctx) = alice.get(&format!("/api/v1/statuses/{id}/context")).await;
    assert_eq!(ctx["descendants"], json!([]));
    // A second vote by dan in this single-choice poll does not count.
    vote["id"] = format!("{dan}#votes/388/activity").into();
    vote["object"]["id"] = format!("{dan}#votes/388").into();
    vote["object"]["name"] = "Tea".into();
    peer.send("dan", &format!("{}/users/alice/inbox", app.base), &vote)
        .await;
    let (_, poll) = alice.get(&format!("/api/v1/polls/{id}")).await;
    assert_eq!(poll["votes_count"], 1);

    // The new counts go to the followers and to the voter as Update(Question).
    let updates = peer.wait_for("/inbox", "Update", 1).await;
    let update = updates.last().unwrap().json();
    assert_eq!(update["object"]["type"], "Question");
    assert_eq!(update["object"]["id"], uri);
    assert_eq!(update["object"]["oneOf"][1]["replies"]["totalItems"], 1);
    assert_eq!(update["object"]["votersCount"], 1);

    // At its end, a last Update with `closed`.
    end_poll(&app, id).await;
    let before = peer.received_of("/inbox", "Update").len();
    tidings::service::polls::close_ended(&app.svc)
        .await
        .unwrap();
    let updates = peer.wait_for("/inbox", "Update", before + 1).await;
    let last = updates.last().unwrap().json();
    assert!(last["object"]["closed"].is_string(), "{last}");
}

#[tokio::test]
async fn gotosocial_votes_on_a_multiple_choice_poll() {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    app.user("alice").await;
    let alice = Api::login(&app, "alice").await;
    let peer = RecordingPeer::start(&["willy_nilly"]).await;
    let status = api_poll(
        &alice,
        &["tissues", "financial times", "other"],
        "3600",
        true,
    )
    .await;
    let id = id_of(&status);
    let uri = status["uri"].as_str().unwrap();
    let text = fixture("gotosocial-docs/posts_10.json")
        .replace("https://sample.com", &peer.base)
        .replace(
            "https://example.org/users/bobby_tables/statuses/123456",
            uri,
        )
        .replace("https://example.org/users/bobby_tables", ALICE);
    let votes: Value = serde_json::from_str(&text).unwrap();
    let code = peer
        .send("willy_nilly", &format!("{}/inbox", app.base), &votes)
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let (_, poll) = alice.get(&format!("/api/v1/polls/{id}")).await;
    assert_eq!(poll["options"][0]["votes_count"], 1);
    assert_eq!(poll["options"][1]["votes_count"], 1);
    assert_eq!(poll["voters_count"], 1);
    let (_, st) = alice.get(&format!("/api/v1/statuses/{id}")).await;
    assert_eq!(st["replies_count"], 0);
}

#[tokio::test]
async fn questions_from_mastodon_pleroma_and_misskey_show_with_results() {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    app.user("bob").await;
    let bob = Api::login(&app, "bob").await;
    let peer = RecordingPeer::start(&["rinpatch", "rin", "7v1w1r8ce6"]).await;

    // Mastodon: a Create of a Question, single choice, with an end (in 2019: ended).
    let create = rewritten(
        "mastodon/activities/create_question.json",
        "https://mastodon.sdf.org",
        &peer,
    );
    let code = peer
        .send("rinpatch", &format!("{}/inbox", app.base), &create)
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let id = local_id(&app, create["object"]["id"].as_str().unwrap()).await;
    let (_, st) = bob.get(&format!("/api/v1/statuses/{id}")).await;
    let poll = &st["poll"];
    assert_eq!(poll["multiple"], false);
    assert_eq!(poll["expired"], true);
    assert_eq!(poll["expires_at"], "2019-05-11T09:03:36.000Z");
    assert_eq!(poll["votes_count"], 2);
    assert_eq!(
        poll["options"][1],
        json!({"title": "Everyone knows that!", "votes_count": 1})
    );
    assert_eq!(poll["options"].as_array().unwrap().len(), 4);
    // On the page: results (it ended), as bars with percentages.
    let mut web = app.browser();
    web.post_form("/login", &[("username", "bob"), ("password", PASSWORD)])
        .await;
    let page = web.get(&format!("/stories/{id}")).await;
    page.assert_contains("<span class=\"poll-percent\">50%</span>");
    page.assert_contains("Closed");

    // Pleroma: a Question object (closed), then its Update with new counts.
    let object = rewritten(
        "pleroma/objects/poll_original.json",
        "https://patch.cx",
        &peer,
    );
    let ap_id = object["id"].as_str().unwrap().to_owned();
    let wrap = |kind: &str, n: u32, object: &Value| {
        json!({"@context": "https://www.w3.org/ns/activitystreams",
               "id": format!("{}/activities/{kind}-{n}", peer.base), "type": kind,
               "actor": object["actor"], "to": [PUBLIC], "object": object})
    };
    let code = peer
        .send(
            "rin",
            &format!("{}/inbox", app.base),
            &wrap("Create", 1, &object),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let id = local_id(&app, &ap_id).await;
    let (_, poll) = bob.get(&format!("/api/v1/polls/{id}")).await;
    assert_eq!(poll["options"][0]["votes_count"], 4);
    assert_eq!(poll["expired"], true);
    let modified = rewritten(
        "pleroma/objects/poll_modified.json",
        "https://patch.cx",
        &peer,
    );
    let code = peer
        .send(
            "rin",
            &format!("{}/inbox", app.base),
            &wrap("Update", 2, &modified),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let (_, st) = bob.get(&format!("/api/v1/statuses/{id}")).await;
    assert_eq!(st["poll"]["options"][0]["votes_count"], 8);
    assert_eq!(st["poll"]["options"][1]["votes_count"], 3);
    assert_eq!(st["poll"]["votes_count"], 11);
    // Only the counts changed: not shown as an edit.
    assert_eq!(st["edited_at"], Value::Null);

    // Misskey: no end date (open), a mention of someone elsewhere.
    let mut object = rewritten(
        "misskey/poll_no_end_date.json",
        "https://skippers-bin.com",
        &peer,
    );
    object["actor"] = object["attributedTo"].clone();
    let code = peer
        .send(
            "7v1w1r8ce6",
            &format!("{}/inbox", app.base),
            &wrap("Create", 3, &object),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let id = local_id(&app, object["id"].as_str().unwrap()).await;
    let (_, poll) = bob.get(&format!("/api/v1/polls/{id}")).await;
    assert_eq!(poll["expires_at"], Value::Null);
    assert_eq!(poll["expired"], false);
    assert_eq!(poll["voted"], false);
    assert_eq!(
        poll["options"][1],
        json!({"title": "Broken af", "votes_count": 1})
    );
}

#[tokio::test]
async fn our_votes_on_remote_polls_go_out_as_mastodon_sends_them() {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    app.user("bob").await;
    let bob = Api::login(&app, "bob").await;
    let peer = RecordingPeer::start(&["rinpatch"]).await;
    let mut create = rewritten(
        "mastodon/activities/create_question.json",
        "https://mastodon.sdf.org",
        &peer,
    );
    let end = (Utc::now() + Duration::days(1)).to_rfc3339();
    create["object"]["endTime"] = end.into();
    create["object"]["votersCount"] = 2.into();
    peer.send("rinpatch", &format!("{}/inbox", app.base), &create)
        .await;
    let question = create["object"]["id"].as_str().unwrap().to_owned();
    let author = peer.actor("rinpatch").id.clone();
    let id = local_id(&app, &question).await;

    let (code, poll) = bob
        .form(&format!("/api/v1/polls/{id}/votes"), &[("choices[]", "2")])
        .await;
    assert_eq!(code, StatusCode::OK, "{poll}");
    // Counted here at once.
    assert_eq!(poll["options"][2]["votes_count"], 1);
    assert_eq!(poll["voters_count"], 3);
    assert_eq!(poll["own_votes"], json!([2]));
    // Sent to the author's inbox: a Create of a Note named after the option.
    let got = peer.wait_for("/users/rinpatch/inbox", "Create", 1).await[0].json();
    assert_eq!(got["actor"], "http://tidings.test/users/bob");
    assert_eq!(got["to"], json!([author]));
    let note = &got["object"];
    assert_eq!(note["type"], "Note");
    assert_eq!(note["name"], "25 char limit is dumb");
    assert_eq!(note["inReplyTo"], question);
    assert_eq!(note["attributedTo"], "http://tidings.test/users/bob");
    assert!(note.get("content").is_none());
    assert!(
        got["id"]
            .as_str()
            .unwrap()
            .starts_with("http://tidings.test/users/bob#votes/")
    );

    // The author's Update(Question) sets the counts as the author has them.
    create["object"]["oneOf"][2]["replies"]["totalItems"] = 5.into();
    create["object"]["votersCount"] = 7.into();
    let update = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{question}#updates/1"), "type": "Update", "actor": author,
        "to": [PUBLIC], "object": create["object"]});
    let code = peer
        .send("rinpatch", &format!("{}/inbox", app.base), &update)
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let (_, poll) = bob.get(&format!("/api/v1/polls/{id}")).await;
    assert_eq!(poll["options"][2]["votes_count"], 5);
    assert_eq!(poll["voters_count"], 7);
    assert_eq!(poll["own_votes"], json!([2]));

    // When it ends, bob (a local voter) is told.
    end_poll(&app, id).await;
    tidings::service::polls::close_ended(&app.svc)
        .await
        .unwrap();
    let (_, list) = bob.get("/api/v1/notifications").await;
    assert_eq!(list[0]["type"], "poll", "{list}");
}
