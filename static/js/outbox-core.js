// The outbox: complaints kept on the phone (IndexedDB) until the server confirms them.
// Shared by the pages (window) and the service worker (self): plain script, no bundler.
// An item leaves only when sent; a rejected item stays with the server's reason; every send carries
// the item's idempotency key, so however often it is sent, the server keeps one ticket.
(function (root) {
  "use strict";

  var DB_NAME = "aduan";
  var STORE = "outbox";
  var SYNC_TAG = "aduan-outbox";
  var LEASE_MS = 60 * 1000; // a "sending" mark older than this is a send that died mid-way
  var SENT_KEEP_MS = 7 * 24 * 3600 * 1000; // sent items stay listed a week, with their number

  function open() {
    return root.idb.openDB(DB_NAME, 1, {
      upgrade: function (db) {
        db.createObjectStore(STORE, { keyPath: "key" });
      },
    });
  }

  function all() {
    return open().then(function (db) { return db.getAll(STORE); });
  }

  function get(key) {
    return open().then(function (db) { return db.get(STORE, key); });
  }

  function put(item) {
    return open().then(function (db) { return db.put(STORE, item); }).then(function () {
      notify();
      return item;
    });
  }

  function remove(key) {
    return open().then(function (db) { return db.delete(STORE, key); }).then(notify);
  }

  // Tell every open page that the outbox changed (the worker sends from the background too).
  function notify() {
    try {
      var channel = new BroadcastChannel("aduan-outbox");
      channel.postMessage({ type: "changed" });
      channel.close();
    } catch (e) { /* older browsers: pages refresh on their own events */ }
  }

  function backoffMs(attempts) {
    // 5 s, 10 s, 20 s ... capped at 15 minutes, with jitter so phones do not retry in step.
    var base = Math.min(15 * 60 * 1000, 5000 * Math.pow(2, Math.max(0, attempts - 1)));
    return base / 2 + Math.random() * base / 2;
  }

  // options.signedIn: the page checked that the citizen is signed in again, so items that
  // stopped for a sign-in can go (without it they would upload photos just to hear "401").
  function isDue(item, now, options) {
    if (item.state === "waiting") return !item.nextTryAt || item.nextTryAt <= now;
    if (item.state === "sending") return now - (item.sendingSince || 0) > LEASE_MS;
    if (item.state === "needs_sign_in") return Boolean(options && options.signedIn);
    return false;
  }

  function errorText(body, fallback) {
    if (body && body.errors) {
      return Object.keys(body.errors).map(function (k) { return body.errors[k]; }).join(" ");
    }
    return fallback;
  }

  // Send one item. options.csrf: the current CSRF token (pages read it from the cookie; the worker
  // uses the one saved with the item). options.force: send even if sent or leased (tests, "send now").
  function send(key, options) {
    options = options || {};
    return get(key).then(function (item) {
      if (!item) return null;
      var now = Date.now();
      if (!options.force && !isDue(item, now, options) && item.state !== "waiting") return item;
      if (options.csrf) item.csrf = options.csrf;
      item.state = "sending";
      item.sendingSince = now;
      return put(item).then(function () {
        var body = new FormData();
        Object.keys(item.fields).forEach(function (name) { body.append(name, item.fields[name]); });
        body.set("client_key", item.key);
        (item.photos || []).forEach(function (blob, i) {
          body.append("photos", blob, "foto-" + (i + 1) + ".jpg");
        });
        return fetch("/lapor", {
          method: "POST",
          body: body,
          credentials: "same-origin",
          headers: { Accept: "application/json", "x-csrftoken": item.csrf || "" },
        }).then(
          function (response) {
            return response.json().catch(function () { return {}; }).then(function (data) {
              return settle(item, response.status, data);
            });
          },
          function () { return retryLater(item, null); } // offline or the server unreachable
        );
      });
    });
  }

  function settle(item, status, data) {
    item.sendingSince = null;
    if (status === 200 || status === 201) {
      item.state = "sent";
      item.number = data.number;
      item.url = data.url;
      item.sentAt = Date.now();
      item.error = null;
      item.photos = []; // the server has them now; free the phone's storage
      return put(item);
    }
    if (status === 401) {
      item.state = "needs_sign_in";
      item.error = null;
      return put(item);
    }
    if (status === 400 || status === 409 || status === 413 || status === 422) {
      item.state = "rejected";
      item.error = errorText(data, "HTTP " + status);
      return put(item);
    }
    // 403 (stale CSRF token: the next page load sends a fresh one), 429, 5xx: try again later.
    return retryLater(item, errorText(data, null));
  }

  function retryLater(item, reason) {
    item.state = "waiting";
    item.sendingSince = null;
    item.attempts = (item.attempts || 0) + 1;
    item.nextTryAt = Date.now() + backoffMs(item.attempts);
    item.lastProblem = reason;
    return put(item);
  }

  // Send everything that is due; returns the items as they ended up.
  function sendDue(options) {
    var now = Date.now();
    return all().then(function (items) {
      var chain = Promise.resolve();
      var results = [];
      items.forEach(function (item) {
        if (item.state === "sent" && item.sentAt && now - item.sentAt > SENT_KEEP_MS) {
          chain = chain.then(function () { return remove(item.key); });
        } else if (isDue(item, now, options)) {
          chain = chain.then(function () {
            return send(item.key, options).then(function (r) { results.push(r); });
          });
        }
      });
      return chain.then(function () { return results; });
    });
  }

  function unsentCount() {
    return all().then(function (items) {
      return items.filter(function (item) { return item.state !== "sent"; }).length;
    });
  }

  root.AduanOutbox = {
    SYNC_TAG: SYNC_TAG,
    unsentCount: unsentCount,
    all: all,
    get: get,
    put: put,
    remove: remove,
    send: send,
    sendDue: sendDue,
  };
})(self);
