// One Fedify actor (`peer`) served over HTTPS, for the federation tests of Tidings
// (federation-tests/interop_fedify.rs). The test starts it with:
//
//   PEER_DOMAIN   public host[:port] of the peer, e.g. peer.test:43210
//   PEER_LISTEN   address to listen on for HTTPS, e.g. 127.0.0.22:43210
//   PEER_CERT     PEM certificate chain for PEER_DOMAIN's host (made by the test's CA)
//   PEER_KEY      its PEM key
//   PEER_RESOLVE  comma-separated HOST=IP pairs: fixed addresses, without DNS
//   CONTROL_PORT  port of the control API, plain HTTP on 127.0.0.1
//   NODE_EXTRA_CA_CERTS  the test CA, so that Node trusts Tidings' certificate
//
// The control API lets the test act as the peer's user and read what the peer received:
//
//   POST /control/follow   {"handle": "@name@host"}          -> {"actor", "activity"}
//   POST /control/unfollow {"handle": "@name@host"}          -> {"actor", "activity"}
//   POST /control/post     {"content", "tags": ["name"]}     -> {"note", "activity"}
//   POST /control/reply    {"inReplyTo": url, "content", "visibility": "public"|"private"}
//                                                             -> {"note", "activity"}
//   POST /control/like     {"object": url}                   -> {"activity"}
//   GET  /control/inbox    the activities Fedify's inbox accepted, oldest first
//   GET  /control/rejections  inbox requests Fedify refused, with its reason
//
// Fedify calls an inbox listener only for an activity whose HTTP signature (or object
// integrity proof) it verified against the actor's key, so every entry of
// /control/inbox is a verified one (`verified: true`, with the `keyId` of the HTTP
// signature it came with). Requests it refuses are answered
// 4xx by Fedify before any listener runs; those are in /control/rejections together with
// the signature log lines Fedify wrote while checking them.
//
// Errors of the control API answer 500 with {"error"}; the process prints its log to
// stdout.

import { AsyncLocalStorage } from "node:async_hooks";
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import fs from "node:fs";
import { Buffer } from "node:buffer";

import {
  Accept,
  Create,
  Endpoints,
  Follow,
  Hashtag,
  Like,
  Note,
  PUBLIC_COLLECTION,
  Person,
  Undo,
  createFederation,
  exportJwk,
  generateCryptoKeyPair,
  importJwk,
  isActor,
  MemoryKvStore,
} from "@fedify/fedify";
import { configure } from "@logtape/logtape";
import { Temporal } from "@js-temporal/polyfill";

function env(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`fedify peer: ${name} is not set`);
    process.exit(2);
  }
  return v;
}

const DOMAIN = env("PEER_DOMAIN");
const LISTEN = env("PEER_LISTEN");
const CERT = env("PEER_CERT");
const KEY = env("PEER_KEY");
const CONTROL_PORT = Number(env("CONTROL_PORT"));
const ORIGIN = `https://${DOMAIN}`;
const USER = "peer";

// ---- Name resolution without DNS: HOST=IP pairs override dns.lookup, which Node's
// sockets (and so fetch) use.
const fixed = new Map(
  (process.env.PEER_RESOLVE ?? "")
    .split(",")
    .filter((s) => s.includes("="))
    .map((s) => {
      const [h, ip] = s.split("=");
      return [h.trim().toLowerCase(), ip.trim()];
    }),
);
const realLookup = dns.lookup;
dns.lookup = function (hostname, options, callback) {
  if (typeof options === "function") {
    callback = options;
    options = {};
  }
  const ip = fixed.get(String(hostname).toLowerCase());
  if (ip === undefined) return realLookup.call(dns, hostname, options, callback);
  const family = ip.includes(":") ? 6 : 4;
  if (typeof options === "object" && options?.all) {
    process.nextTick(callback, null, [{ address: ip, family }]);
  } else {
    process.nextTick(callback, null, ip, family);
  }
};

// ---- Logs: everything to stdout; what the signature and inbox code say is kept so a
// refusal can be explained.
const recentSigLogs = [];
function render(record) {
  return record.message.map((m) => (typeof m === "string" ? m : safeJson(m))).join("");
}
function safeJson(v) {
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}
await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: {
    stdout: (record) => {
      const line = `${new Date(record.timestamp).toISOString()} ${record.level} ${
        record.category.join(".")
      }: ${render(record)}`;
      console.log(line);
      const cat = record.category.join(".");
      if (cat.startsWith("fedify.sig") || cat.startsWith("fedify.federation.inbox")) {
        recentSigLogs.push({ at: Date.now(), line });
        if (recentSigLogs.length > 200) recentSigLogs.shift();
      }
    },
  },
  loggers: [
    { category: "fedify", sinks: ["stdout"], lowestLevel: "debug" },
    { category: ["logtape", "meta"], sinks: ["stdout"], lowestLevel: "warning" },
  ],
});

// ---- State, in memory.
const inbox = []; // verified activities, in order of arrival
const rejections = []; // refused inbox requests
const followers = new Map(); // actor id -> actor object
const following = new Map(); // actor id -> { actor, follow } (the Follow we sent)
const notes = new Map(); // local note id -> Note
let keyPairs = null;
let counter = 0;

// Two key pairs, as Fedify-based servers keep them: RSA for HTTP signatures (the actor's
// `publicKey`), Ed25519 for the object integrity proofs (FEP-8b32) Fedify adds to what
// it sends.
async function getKeyPairs() {
  if (keyPairs == null) {
    keyPairs = [];
    for (const algorithm of ["RSASSA-PKCS1-v1_5", "Ed25519"]) {
      const pair = await generateCryptoKeyPair(algorithm);
      // Round-trip through JWK as a persistent server would.
      keyPairs.push({
        privateKey: await importJwk(await exportJwk(pair.privateKey), "private"),
        publicKey: await importJwk(await exportJwk(pair.publicKey), "public"),
      });
    }
  }
  return keyPairs;
}

const federation = createFederation({
  kv: new MemoryKvStore(),
  origin: ORIGIN,
  allowPrivateAddress: true,
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== USER) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Fedify peer",
      summary: "A Fedify actor that talks to Tidings in its tests.",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      followers: ctx.getFollowersUri(identifier),
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) =>
    identifier === USER ? await getKeyPairs() : []
  );

federation.setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
  if (identifier !== USER) return null;
  return {
    items: [...followers.values()].map((a) => ({
      id: a.id,
      inboxId: a.inboxId,
      endpoints: a.endpoints,
    })),
  };
});

federation.setObjectDispatcher(Note, "/users/{identifier}/posts/{id}", (ctx, values) => {
  const uri = ctx.getObjectUri(Note, values);
  return notes.get(uri.href) ?? null;
});

// The HTTP request being answered, so that a listener can note which key signed it.
const current = new AsyncLocalStorage();

function signatureKeyId() {
  const sig = current.getStore()?.signature ?? "";
  return /keyId="([^"]*)"/.exec(sig)?.[1] ?? null;
}

async function record(ctx, activity) {
  inbox.push({
    type: activity.constructor.name,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    verified: true,
    keyId: signatureKeyId(),
    json: await activity.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader }),
  });
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    await record(ctx, follow);
    if (follow.objectId?.href !== ctx.getActorUri(USER).href) return;
    const follower = await follow.getActor(ctx);
    if (!isActor(follower)) return;
    followers.set(follower.id.href, follower);
    await ctx.sendActivity(
      { identifier: USER },
      follower,
      new Accept({
        id: new URL(`${ORIGIN}/users/${USER}/accepts/${++counter}`),
        actor: ctx.getActorUri(USER),
        object: follow,
      }),
    );
  })
  .on(Undo, async (ctx, undo) => {
    await record(ctx, undo);
    const object = await undo.getObject(ctx);
    if (object instanceof Follow && undo.actorId) followers.delete(undo.actorId.href);
  })
  .on(Accept, record)
  .on(Create, record)
  .on(Like, record)
  .onError((_ctx, error) => {
    console.log(`inbox listener error: ${error?.stack ?? error}`);
  });

// ---- HTTPS server: node's request -> a fetch Request -> federation.fetch.
async function toRequest(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
    else if (v != null) headers.set(k, v);
  }
  return {
    request: new Request(`https://${req.headers.host ?? DOMAIN}${req.url}`, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    }),
    body,
  };
}

async function send(res, response) {
  const headers = {};
  response.headers.forEach((v, k) => (headers[k] = v));
  const buf = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, headers);
  res.end(buf);
}

const [listenHost, listenPort] = [LISTEN.slice(0, LISTEN.lastIndexOf(":")), Number(LISTEN.slice(LISTEN.lastIndexOf(":") + 1))];
const server = https.createServer(
  { cert: fs.readFileSync(CERT), key: fs.readFileSync(KEY) },
  async (req, res) => {
    try {
      const { request, body } = await toRequest(req);
      const started = Date.now();
      const signature = req.headers["signature"] ?? null;
      const response = await current.run({ signature }, () => federation.fetch(request, {
        contextData: undefined,
        onNotFound: () => new Response("Not found", { status: 404 }),
        onNotAcceptable: () => new Response("Not acceptable", { status: 406 }),
      }));
      console.log(`${req.method} ${req.url} -> ${response.status}`);
      if (req.method === "POST" && response.status >= 400) {
        const text = await response.clone().text();
        rejections.push({
          path: req.url,
          status: response.status,
          answer: text,
          signature: req.headers["signature"] ?? req.headers["signature-input"] ?? null,
          body: body.toString("utf8"),
          log: recentSigLogs.filter((l) => l.at >= started - 50).map((l) => l.line),
        });
      }
      await send(res, response);
    } catch (e) {
      console.log(`error answering ${req.method} ${req.url}: ${e?.stack ?? e}`);
      res.writeHead(500);
      res.end(String(e));
    }
  },
);
server.listen(listenPort, listenHost);

// ---- Control API.
function context() {
  return federation.createContext(new URL(ORIGIN), undefined);
}

async function lookupActor(ctx, handle) {
  const actor = await ctx.lookupObject(handle);
  if (!isActor(actor)) throw new Error(`cannot look up ${handle}: got ${actor?.constructor?.name ?? "nothing"}`);
  return actor;
}

function newNote(ctx, content, extra = {}) {
  const id = `${++counter}`;
  const uri = ctx.getObjectUri(Note, { identifier: USER, id });
  const note = new Note({
    id: uri,
    attribution: ctx.getActorUri(USER),
    // Followers only (as Mastodon addresses it): to the followers, cc the mentioned.
    tos: extra.followersOnly ? [ctx.getFollowersUri(USER)] : [PUBLIC_COLLECTION],
    ccs: extra.followersOnly
      ? [...(extra.alsoCc ?? [])]
      : [ctx.getFollowersUri(USER), ...(extra.alsoCc ?? [])],
    content,
    url: uri,
    published: Temporal.Now.instant(),
    tags: extra.tags ?? [],
    replyTarget: extra.replyTarget ?? null,
  });
  notes.set(uri.href, note);
  return note;
}

function createOf(ctx, note) {
  return new Create({
    id: new URL(`${note.id.href}#create`),
    actor: ctx.getActorUri(USER),
    tos: note.toIds,
    ccs: note.ccIds,
    object: note,
  });
}

const actions = {
  async follow(ctx, { handle }) {
    const actor = await lookupActor(ctx, handle);
    const follow = new Follow({
      id: new URL(`${ORIGIN}/users/${USER}/follows/${++counter}`),
      actor: ctx.getActorUri(USER),
      object: actor.id,
    });
    await ctx.sendActivity({ identifier: USER }, actor, follow);
    following.set(actor.id.href, { actor, follow });
    return { actor: actor.id.href, activity: follow.id.href };
  },
  async unfollow(ctx, { handle }) {
    const actor = await lookupActor(ctx, handle);
    const entry = following.get(actor.id.href);
    if (!entry) throw new Error(`not following ${handle}`);
    const undo = new Undo({
      id: new URL(`${ORIGIN}/users/${USER}/undos/${++counter}`),
      actor: ctx.getActorUri(USER),
      object: entry.follow,
    });
    await ctx.sendActivity({ identifier: USER }, actor, undo);
    following.delete(actor.id.href);
    return { actor: actor.id.href, activity: undo.id.href };
  },
  async post(ctx, { content, tags = [] }) {
    const note = newNote(ctx, content, {
      tags: tags.map((t) =>
        new Hashtag({ name: `#${t}`, href: new URL(`${ORIGIN}/tags/${encodeURIComponent(t)}`) })
      ),
    });
    const create = createOf(ctx, note);
    await ctx.sendActivity({ identifier: USER }, [...followers.values()], create);
    return { note: note.id.href, activity: create.id.href, followers: followers.size };
  },
  async reply(ctx, { inReplyTo, content, visibility = "public" }) {
    const parent = await ctx.lookupObject(inReplyTo);
    if (parent == null) throw new Error(`cannot look up ${inReplyTo}`);
    const author = await parent.getAttribution?.(ctx);
    if (!isActor(author)) throw new Error(`no author for ${inReplyTo}`);
    const note = newNote(ctx, content, {
      replyTarget: new URL(inReplyTo),
      alsoCc: [author.id],
      followersOnly: visibility === "private",
    });
    const create = createOf(ctx, note);
    const recipients = new Map([[author.id.href, author]]);
    for (const [id, a] of followers) recipients.set(id, a);
    await ctx.sendActivity({ identifier: USER }, [...recipients.values()], create);
    return { note: note.id.href, activity: create.id.href };
  },
  async like(ctx, { object }) {
    const target = await ctx.lookupObject(object);
    if (target == null) throw new Error(`cannot look up ${object}`);
    const author = await target.getAttribution?.(ctx);
    if (!isActor(author)) throw new Error(`no author for ${object}`);
    const like = new Like({
      id: new URL(`${ORIGIN}/users/${USER}/likes/${++counter}`),
      actor: ctx.getActorUri(USER),
      object: new URL(object),
    });
    await ctx.sendActivity({ identifier: USER }, author, like);
    return { activity: like.id.href };
  },
};

const control = http.createServer(async (req, res) => {
  const reply = (status, value) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(value));
  };
  try {
    const path = req.url.split("?")[0];
    if (req.method === "GET" && path === "/control/inbox") return reply(200, inbox);
    if (req.method === "GET" && path === "/control/rejections") return reply(200, rejections);
    if (req.method === "GET" && path === "/control/ready") return reply(200, { actor: `${ORIGIN}/users/${USER}` });
    const action = req.method === "POST" && path.startsWith("/control/") && actions[path.slice(9)];
    if (!action) return reply(404, { error: `no ${req.method} ${path}` });
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const args = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : {};
    console.log(`control: ${path} ${JSON.stringify(args)}`);
    reply(200, await action(context(), args));
  } catch (e) {
    console.log(`control error: ${e?.stack ?? e}`);
    reply(500, { error: String(e?.message ?? e) });
  }
});
control.listen(CONTROL_PORT, "127.0.0.1", () => {
  console.log(`fedify peer ${ORIGIN}/users/${USER} listening on ${LISTEN}, control on 127.0.0.1:${CONTROL_PORT}`);
});
