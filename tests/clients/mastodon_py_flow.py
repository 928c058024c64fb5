"""A real client against a real Tidings process: Mastodon.py (from PyPI) registers an
app, logs in, posts a story with a hashtag, replies, favourites, reads timelines and the
context, and checks what it reads back. Usage: mastodon_py_flow.py BASE_URL USER PASSWORD
"""
import sys

from mastodon import Mastodon, MastodonNotFoundError

base, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise SystemExit(f"FAILED: {what}")
    checks += 1
    print(f"ok - {what}")


def ids(items):
    return [str(i["id"]) for i in items]


client_id, client_secret = Mastodon.create_app(
    "tidings-ci", api_base_url=base, scopes=["read", "write", "follow"], to_file=None
)
check(bool(client_id) and bool(client_secret), "app registered")

m = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base)
# Test instances run on plain http over loopback; Mastodon.py refuses that unless told.
token = m.log_in(user, password, scopes=["read", "write", "follow"], allow_http=True)
check(bool(token), "logged in with the password grant")
check(m.retrieve_mastodon_version().startswith("4."), "instance version understood")

me = m.account_verify_credentials()
check(me["username"].lower() == user.lower(), "verify_credentials names the account")

story = m.status_post("Harbour tram approved #Transit\n\nThe council voted 7-2 to fund the line.")
check("Harbour tram approved" in story["content"], "story headline is in the content")
check([t["name"] for t in story["tags"]] == ["transit"], "hashtag listed in tags")
check(story["account"]["username"].lower() == user.lower(), "story has its author")

reply = m.status_post("Great news for commuters!", in_reply_to_id=story["id"])
check(str(reply["in_reply_to_id"]) == str(story["id"]), "reply points at the story")

fav = m.status_favourite(story["id"])
check(fav["favourited"] is True and fav["favourites_count"] == 1, "favourite counted")

again = m.status(story["id"])
check(again["replies_count"] == 1 and again["favourites_count"] == 1, "counts read back")

check(str(story["id"]) in ids(m.timeline_home()), "story on the home timeline")
check(str(story["id"]) in ids(m.timeline_public()), "story on the public timeline")
check(str(story["id"]) in ids(m.timeline_local()), "story on the local timeline")
check(str(story["id"]) in ids(m.timeline_hashtag("Transit")), "story on the tag timeline")

context = m.status_context(story["id"])
check(ids(context["descendants"]) == [str(reply["id"])], "context lists the reply")
check(context["ancestors"] == [], "a story has no ancestors")
up = m.status_context(reply["id"])
check(ids(up["ancestors"]) == [str(story["id"])], "the reply's context leads to the story")

favs = m.favourites()
check(str(story["id"]) in ids(favs), "favourites list holds the story")

m.status_unfavourite(story["id"])
check(m.status(story["id"])["favourites_count"] == 0, "unfavourite takes the vote back")

found = m.search_v2("Harbour", result_type="statuses")
check(str(story["id"]) in ids(found["statuses"]), "search finds the story")

deleted = m.status_delete(reply["id"])
check("Great news" in deleted.get("text", ""), "delete returns the source text")
try:
    m.status(reply["id"])
    check(False, "a deleted reply is gone")
except MastodonNotFoundError:
    check(True, "a deleted reply is gone")
check(m.status_context(story["id"])["descendants"] == [], "context no longer lists the deleted reply")

print(f"{checks} passed, 0 failed")
