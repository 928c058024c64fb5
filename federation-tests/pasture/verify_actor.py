"""Runs fediverse-pasture's verify-actor application against one Tidings actor.

Started by federation-tests/interop_pasture.rs. Pasture's application (its Quart app, with
its test actors alice … frank and its application actor) is served over HTTPS on
PASTURE_LISTEN as https://PASTURE_DOMAIN, so that Tidings can fetch the test actors' keys;
then the driver asks that application, over HTTPS like a browser would, to verify
TIDINGS_ACTOR, and prints the application's JSON answer on stdout:

    {"result": {"alice": {"get_actor": …, "post_inbox": …}, …, "webfinger": …},
     "messages": [… pasture's event log …]}

Environment:
  TIDINGS_ACTOR    actor URI to verify (https://tidings.test:PORT/users/newsMNC)
  PASTURE_DOMAIN   host:port of the pasture application (pasture.test:PORT)
  PASTURE_LISTEN   address:port to listen on (127.0.0.32:PORT)
  PASTURE_CERT, PASTURE_KEY   its certificate and key (PEM)
  PASTURE_CA       CA certificate (PEM) to trust for every outgoing HTTPS request
  PASTURE_RESOLVE  host=ip,host=ip: names resolved without DNS (like curl's --resolve)
  PASTURE_WORKDIR  folder where pasture keeps its generated actors (data.toml)
"""

import asyncio
import json
import os
import socket
import sys

# Trust the test CA: aiohttp builds its default SSL context when it is imported, from
# OpenSSL's default paths, which honour SSL_CERT_FILE.
os.environ["SSL_CERT_FILE"] = os.environ["PASTURE_CA"]

RESOLVE = dict(
    item.split("=", 1) for item in os.environ["PASTURE_RESOLVE"].split(",") if item
)
_getaddrinfo = socket.getaddrinfo


def _pinned_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, bytes):
        host = host.decode()
    return _getaddrinfo(RESOLVE.get(host, host), *args, **kwargs)


socket.getaddrinfo = _pinned_getaddrinfo

# Pasture keeps its generated actors (data.toml) and bovine its JSON-LD cache in the
# working folder.
os.makedirs(os.environ["PASTURE_WORKDIR"], exist_ok=True)
os.chdir(os.environ["PASTURE_WORKDIR"])

import aiohttp  # noqa: E402
import aiohttp.connector  # noqa: E402

# aiohttp resolves through aiodns (real DNS) when it is installed; the threaded resolver
# goes through socket.getaddrinfo, pinned above.
aiohttp.connector.DefaultResolver = aiohttp.ThreadedResolver

from hypercorn.asyncio import serve  # noqa: E402
from hypercorn.config import Config  # noqa: E402

from fediverse_pasture.one_actor import bovine_actor_and_session  # noqa: E402
from fediverse_pasture.runner import ActivitySender  # noqa: E402
from fediverse_pasture.send.modifier import ModifierBuilder  # noqa: E402
from fediverse_pasture.verify_actor import build_app  # noqa: E402

# Inputs of fediverse-pasture-inputs sent to the Tidings actor as Creates of Notes from
# pasture's application actor (https://PASTURE_DOMAIN/actor), as its send tool does:
# (input name, example numbers).
INPUTS = [
    ("html_bad", range(13)),  # body, html, head, title, meta, script, form, input, …
    ("html_tags", [11, 25, 26, 27, 29, 30]),  # h1, a, script, img, audio, video
    ("public_addressing", range(3)),  # to: the full Public URI, as:Public, Public
    ("in_reply_to", range(7)),  # URI, unreachable URI, list, Link, two, Collection, Note
]


async def send_inputs(domain: str, remote: str) -> list:
    """Sends INPUTS to remote; returns, for each, the Note and Tidings' answer."""
    sent = []
    async with bovine_actor_and_session(f"https://{domain}") as (actor, obj, _):
        # The sender keeps only successful answers: note every status Tidings gives.
        statuses = []
        post = actor.post

        async def noting_post(inbox, data):
            try:
                response = await post(inbox, data)
            except aiohttp.ClientResponseError as e:
                statuses.append(e.status)
                raise
            statuses.append(response.status)
            return response

        actor.post = noting_post
        for name, numbers in INPUTS:
            for number in numbers:
                sender = ActivitySender.for_actor(actor, obj)
                sender.sleep_after_getting_inbox = False
                sender.init_create_note(
                    ModifierBuilder(input_name=name, input_number=number).build()
                )
                entry = {"input": name, "number": number, "note": sender.note}
                statuses.clear()
                try:
                    await sender.send(remote)
                except Exception as e:  # noqa: BLE001 - reported to the test
                    entry["error"] = repr(e)
                entry["status"] = statuses[-1] if statuses else None
                sent.append(entry)
    return sent


async def main() -> None:
    # stdout carries only the answer; logs (pasture's, hypercorn's) go to stderr.
    out, sys.stdout = sys.stdout, sys.stderr
    domain = os.environ["PASTURE_DOMAIN"]
    app = build_app(False, domain, True, 20)

    config = Config()
    config.bind = [os.environ["PASTURE_LISTEN"]]
    config.certfile = os.environ["PASTURE_CERT"]
    config.keyfile = os.environ["PASTURE_KEY"]
    config.accesslog = "-"
    config.errorlog = "-"
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))

    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(f"https://{domain}/actor") as res:
                    if res.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        else:
            raise SystemExit("pasture's application did not start")

        async with session.post(
            f"https://{domain}/",
            data={"actor_uri": os.environ["TIDINGS_ACTOR"]},
            headers={"accept": "application/json"},
            timeout=aiohttp.ClientTimeout(total=120),
        ) as res:
            res.raise_for_status()
            answer = await res.json()

    sent = await send_inputs(domain, os.environ["TIDINGS_ACTOR"])

    stop.set()
    await server
    print(
        json.dumps(
            {
                "result": answer["result"],
                "messages": json.loads(answer["messages"]),
                "sent": sent,
            }
        ),
        file=out,
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(main())
