// The outbox: reports kept on the phone (IndexedDB) until our server confirms them.
// Shared by the pages (window) and the service worker (self): plain script, no bundler. The OPD's
// offline work will use the same core, so every guarantee lives here, not in the form:
// - Sent means our server said so for this item: a JSON answer echoing the item's key (body field
//   and X-Aduan-Outbox header). A captive portal's 200, a proxy's 502 or a lost answer is a retry.
// - Every send carries the item's idempotency key, so however often it goes, the server keeps one.
// - An item belongs to the account that wrote it and leaves only while that account is signed in
//   (the server checks it too): on a shared phone nothing is filed under the wrong person.
// - Nothing stays stuck: a send held by a page that died is taken over at once (Web Locks), a send
//   that hangs is aborted, backoff is capped at 20 s, and one sign of a working network (a probe or
//   a success) sends every item that waited for the network.
// - A full phone never stops what is queued from leaving: state marks are small records apart from
//   the photos, a failed mark does not stop the send, and a sent item's photos are freed first.
// Items are citizens' reports (POST /lapor) or, with `endpoint` set, OPD staff's actions on a ticket
// (POST /opd/tiket/N/aksi, static/js/opd.js). An action whose ticket changed meanwhile ends in the
// state "conflict" (kept, with the server's reason and the ticket's current state in `ticket`).
(function (root) {
  "use strict";

  var DB_NAME = "aduan";
  var DB_VERSION = 2;
  var ITEMS = "outbox"; // item records without photos (small: rewriting one never needs much room)
  var PHOTOS = "photos"; // [item key, index] -> Blob
  var META = "meta"; // "account": who this phone last saw signed in, for items written offline
  var SYNC_TAG = "aduan-outbox";
  var ANSWER_HEADER = "X-Aduan-Outbox";
  var BACKOFF_FIRST_MS = 2000;
  var BACKOFF_MAX_MS = 20 * 1000; // nothing waits longer than this on a working network
  var SERVER_WAIT_MAX_MS = 60 * 1000; // a Retry-After is honoured up to a minute
  var SEND_TIMEOUT_MS = 30 * 1000; // plus SEND_TIMEOUT_PER_MB_MS per MB of photos (400 kbit/s)
  var SEND_TIMEOUT_PER_MB_MS = 20 * 1000;
  var PROBE_TIMEOUT_MS = 10 * 1000;
  var PARALLEL_SENDS = 3;
  var SENT_KEEP_MS = 7 * 24 * 3600 * 1000; // sent items stay listed a week, with their number
  var REMOVED = "removed"; // an item deleted while it was being sent

  var dbPromise = null;

  function db() {
    if (!dbPromise) {
      dbPromise = root.idb.openDB(DB_NAME, DB_VERSION, {
        upgrade: upgrade,
        // Another tab or the worker holds a newer version: let it upgrade, reopen on next use.
        blocking: function () { dbPromise.then(function (d) { d.close(); }); dbPromise = null; },
        terminated: function () { dbPromise = null; },
      });
      dbPromise.catch(function () { dbPromise = null; });
    }
    return dbPromise;
  }

  function upgrade(database, oldVersion, newVersion, tx) {
    if (oldVersion < 1) database.createObjectStore(ITEMS, { keyPath: "key" });
    if (oldVersion < 2) {
      database.createObjectStore(PHOTOS);
      database.createObjectStore(META);
      if (oldVersion < 1) return;
      // Version 1 kept photos inside each record. Move them out. Whose items they were is not
      // known, so they wait for the citizen to send them as themselves (one tap in the list).
      var items = tx.objectStore(ITEMS);
      var photos = tx.objectStore(PHOTOS);
      items.getAll().then(function (all) {
        all.forEach(function (item) {
          var blobs = item.photos || [];
          blobs.forEach(function (blob, i) { photos.put(blob, [item.key, i]); });
          delete item.photos;
          item.photoCount = blobs.length;
          item.photoBytes = blobs.reduce(function (n, b) { return n + (b.size || 0); }, 0);
          if (item.owner === undefined) item.owner = null;
          if (item.state === "sending") item.state = "waiting";
          items.put(item);
        });
      });
    }
  }

  // Tell every open page that the outbox changed (the worker sends from the background too).
  function notify() {
    try {
      var channel = new BroadcastChannel("aduan-outbox");
      channel.postMessage({ type: "changed" });
      channel.close();
    } catch (e) { /* older browsers: pages refresh on their own events */ }
  }

  function all() {
    return db().then(function (d) { return d.getAll(ITEMS); });
  }

  function get(key) {
    return db().then(function (d) { return d.get(ITEMS, key); });
  }

  function photoRange(key) {
    return IDBKeyRange.bound([key, 0], [key, Infinity]);
  }

  function photosOf(key) {
    return db().then(function (d) { return d.getAll(PHOTOS, photoRange(key)); });
  }

  // Save a new or edited item with its photos in one transaction: on a full phone nothing is
  // half-written, and the caller gets the browser's QuotaExceededError to explain.
  // photos: the blobs to keep with it, or null to keep the ones already saved (editing).
  function save(item, photos) {
    return db().then(function (d) {
      var tx = d.transaction([ITEMS, PHOTOS], "readwrite");
      var items = tx.objectStore(ITEMS);
      var store = tx.objectStore(PHOTOS);
      var writes = [];
      if (photos) {
        writes.push(store.delete(photoRange(item.key)));
        photos.forEach(function (blob, i) { writes.push(store.put(blob, [item.key, i])); });
        item.photoCount = photos.length;
        item.photoBytes = photos.reduce(function (n, b) { return n + (b.size || 0); }, 0);
      }
      writes.push(items.put(item));
      writes.push(tx.done);
      return Promise.all(writes).catch(function (error) {
        try { tx.abort(); } catch (e) { /* already over */ }
        throw (tx.error || error);
      });
    }).then(function () {
      notify();
      return item;
    });
  }

  // Change a few fields of an item (a small record: no photos are rewritten). A sent item stays
  // sent: with two sends of one item in flight, the one that failed must not undo the other.
  function update(key, changes) {
    return db().then(function (d) {
      var tx = d.transaction(ITEMS, "readwrite");
      return tx.store.get(key).then(function (item) {
        if (!item) return null;
        if (item.state === "sent" && changes.state && changes.state !== "sent") return item;
        Object.keys(changes).forEach(function (name) { item[name] = changes[name]; });
        tx.store.put(item);
        return tx.done.then(function () { return item; });
      });
    }).then(function (item) {
      notify();
      return item;
    });
  }

  function remove(key) {
    return db().then(function (d) {
      var tx = d.transaction([ITEMS, PHOTOS], "readwrite");
      tx.objectStore(PHOTOS).delete(photoRange(key));
      tx.objectStore(ITEMS).delete(key);
      return tx.done;
    }).then(notify);
  }

  function freePhotos(key) {
    return db().then(function (d) { return d.delete(PHOTOS, photoRange(key)); });
  }

  // --- Who is signed in --------------------------------------------------------------------------
  function rememberAccount(account) {
    return db().then(function (d) { return d.put(META, account, "account"); })
      .catch(function () { /* full phone: the fresh answer still counts for this send */ })
      .then(function () { return account; });
  }

  // The account this phone last saw signed in ({account, label} or null), for items written offline
  // or after the session expired.
  function lastAccount() {
    return db().then(function (d) { return d.get(META, "account"); }).then(function (a) { return a || null; });
  }

  function forgetAccount() {
    return rememberAccount(null);
  }

  // The CSRF token is a cookie the worker cannot read: pages leave the current one here.
  function rememberCsrf(token) {
    if (!token) return Promise.resolve();
    return db().then(function (d) { return d.put(META, token, "csrf"); }).catch(function () {});
  }

  function csrfFor(options) {
    if (options.csrf) return Promise.resolve(options.csrf);
    return db().then(function (d) { return d.get(META, "csrf"); }).then(function (t) { return t || ""; });
  }

  function timedFetch(url, init, ms) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, ms) : null;
    if (controller) init.signal = controller.signal;
    return fetch(url, init).then(function (response) {
      // The answer is read before the timer is cleared: a body that never comes is a timeout too.
      return response.text().then(function (text) {
        clearTimeout(timer);
        return { response: response, text: text };
      });
    }, function (error) {
      clearTimeout(timer);
      throw error;
    });
  }

  function parseJson(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  // Asks our server who is signed in: {account, label}, or null when nobody is. Rejects when the
  // answer is not ours (no network, a captive portal, a proxy's error page): nothing can be sent.
  function whoIsSignedIn() {
    return timedFetch("/akun", {
      // A poll, not a person: it must not keep an unattended staff session alive.
      headers: { Accept: "application/json", "x-aduan-poll": "1" },
      credentials: "same-origin",
      cache: "no-store",
      redirect: "manual",
    }, PROBE_TIMEOUT_MS).then(function (answer) {
      var data = answer.response.ok ? parseJson(answer.text) : null;
      if (!data || typeof data.signed_in !== "boolean") throw new Error("outbox: not our server");
      if (!data.signed_in || !data.account) return null;
      // Remembered until another account signs in here or this one signs out on this phone (not
      // when a session merely expires: what its owner writes meanwhile is still theirs).
      return rememberAccount({ account: String(data.account), label: String(data.label || "") });
    });
  }

  function ownedBy(item, account) {
    return Boolean(item.owner && account && item.owner.account === account.account);
  }

  // --- Sending -------------------------------------------------------------------------------------
  function backoffMs(attempts) {
    // 2 s, 4 s, 8 s, 16 s, then 20 s, with jitter so a street of phones does not retry in step.
    var base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, Math.max(0, attempts - 1)));
    return base / 2 + Math.random() * base / 2;
  }

  function hasLocks() {
    return typeof navigator !== "undefined" && navigator.locks && typeof navigator.locks.request === "function";
  }

  function lockName(key) {
    return "aduan-outbox:" + key;
  }

  // The keys some live page or worker is sending right now. A "sending" item not among them was
  // left by a page that closed or reloaded mid-send: it is due again at once.
  function keysBeingSent() {
    if (!hasLocks()) return Promise.resolve(null);
    return navigator.locks.query().then(function (state) {
      var held = {};
      (state.held || []).forEach(function (lock) { held[lock.name] = true; });
      return held;
    }).catch(function () { return null; });
  }

  // A send held by another live page or the worker that has not answered in this long is sent
  // again alongside it (same key, so still one ticket): a hung answer in the worker must not keep
  // a reloaded page waiting for the worker's whole timeout.
  var SECOND_SEND_AFTER_MS = 8 * 1000; // plus SEND_TIMEOUT_PER_MB_MS per MB, as for the timeout
  function secondSendAt(item) {
    var mb = Math.ceil((item.photoBytes || 0) / (1024 * 1024));
    return (item.sendingSince || 0) + SECOND_SEND_AFTER_MS + mb * SEND_TIMEOUT_PER_MB_MS;
  }

  function sendingIsDead(item, now, held) {
    if (held) return !held[lockName(item.key)];
    return now > (item.sendingUntil || 0); // no Web Locks: the send's own deadline has passed
  }

  // Run fn while holding this item's lock; resolves with BUSY when another page or the worker has it.
  var BUSY = {};
  function withItemLock(key, fn) {
    if (!hasLocks()) return fn();
    return navigator.locks.request(lockName(key), { ifAvailable: true }, function (lock) {
      return lock ? fn() : BUSY;
    });
  }

  function errorText(data) {
    if (data && data.errors) {
      return Object.keys(data.errors).map(function (k) { return data.errors[k]; }).join(" ");
    }
    return "";
  }

  function retryAfterMs(response) {
    var value = response.headers.get("Retry-After");
    var seconds = value && /^\d+$/.test(value.trim()) ? parseInt(value, 10) : 0;
    return Math.min(SERVER_WAIT_MAX_MS, seconds * 1000);
  }

  // Like timedFetch, through XMLHttpRequest: fetch cannot tell how much of an upload has gone.
  // Pages only (a worker has no XHR); it follows redirects, but a page that is not ours never echoes
  // the item's key, so it still counts as no answer.
  function timedUpload(url, init, ms, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(init.method, url);
      Object.keys(init.headers).forEach(function (name) { xhr.setRequestHeader(name, init.headers[name]); });
      xhr.timeout = ms;
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) onProgress(e.loaded, e.total); };
      xhr.onload = function () {
        resolve({
          response: { status: xhr.status, ok: xhr.status >= 200 && xhr.status < 300,
            headers: { get: function (name) { return xhr.getResponseHeader(name); } } },
          text: xhr.responseText,
        });
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () { reject(new Error("outbox: no answer")); };
      xhr.send(init.body);
    });
  }

  function post(item, photos, csrf, onProgress) {
    var body = new FormData();
    Object.keys(item.fields).forEach(function (name) {
      // A list: the values of one field sent several times (checkboxes).
      [].concat(item.fields[name]).forEach(function (value) { body.append(name, value); });
    });
    body.set("client_key", item.key);
    body.set("owner", item.owner ? item.owner.account : "");
    var bytes = 0;
    photos.forEach(function (blob, i) {
      bytes += blob.size || 0;
      body.append("photos", blob, "foto-" + (i + 1) + ".jpg");
    });
    var timeout = SEND_TIMEOUT_MS + Math.ceil(bytes / (1024 * 1024)) * SEND_TIMEOUT_PER_MB_MS;
    var init = {
      method: "POST",
      body: body,
      credentials: "same-origin",
      cache: "no-store",
      redirect: "manual", // a Wi-Fi login page's redirect is not an answer from us
      headers: { Accept: "application/json", "x-csrftoken": csrf || "" },
    };
    var url = item.endpoint || "/lapor";
    var sent = onProgress && typeof XMLHttpRequest === "function"
      ? timedUpload(url, init, timeout, onProgress) : timedFetch(url, init, timeout);
    return sent.then(function (answer) {
      var data = parseJson(answer.text);
      var ours = answer.response.headers.get(ANSWER_HEADER) === item.key && data && data.client_key === item.key;
      return { status: answer.response.status, data: ours ? data : null, ours: Boolean(ours), wait: retryAfterMs(answer.response) };
    }, function () {
      return { status: 0, data: null, ours: false, wait: 0 }; // offline, timed out, connection lost
    });
  }

  function isFiled(item, answer) {
    var data = answer.data;
    if (item.endpoint) return answer.ours && answer.status === 200 && data.applied === true;
    return answer.ours && (answer.status === 200 || answer.status === 201) &&
      typeof data.number === "string" && data.number !== "" &&
      typeof data.url === "string" && data.url.indexOf("/laporan/") === 0;
  }

  // What our answer (or its absence) means for the item: the changes to store.
  function outcome(item, answer) {
    var now = Date.now();
    if (isFiled(item, answer) && item.endpoint) {
      return { state: "sent", ticket: answer.data.ticket || null, next: answer.data.next || null, sentAt: now,
        error: null, problem: null, photoCount: 0, photoBytes: 0, sendingUntil: null };
    }
    if (isFiled(item, answer)) {
      return { state: "sent", number: answer.data.number, url: answer.data.url, sentAt: now, error: null,
        problem: null, photoCount: 0, photoBytes: 0, sendingUntil: null };
    }
    if (answer.ours && answer.status === 401) {
      return { state: "needs_sign_in", error: null, problem: "signed_out", sendingUntil: null };
    }
    if (answer.ours && answer.status === 409 && answer.data.owner_mismatch) {
      return { state: "needs_sign_in", error: null, problem: "other_account", sendingUntil: null };
    }
    if (answer.ours && answer.status === 409 && answer.data.conflict) {
      // The ticket changed since the action was done: kept on the phone for a person to decide.
      return { state: "conflict", error: answer.data.reason || errorText(answer.data), ticket: answer.data.ticket || null,
        problem: null, sendingUntil: null };
    }
    if (answer.ours && [400, 409, 413, 422].indexOf(answer.status) !== -1) {
      // The server says the citizen must change something: keep it, with the server's reason.
      return { state: "rejected", error: errorText(answer.data) || "HTTP " + answer.status, problem: null,
        ticket: answer.data.ticket || item.ticket || null, sendingUntil: null };
    }
    // Not an answer from us (no network, a captive portal, a proxy), or our server busy: try again.
    var attempts = (item.attempts || 0) + 1;
    var fromServer = answer.ours; // 5xx/429 from us: the server's own wait counts
    return {
      state: "waiting",
      attempts: attempts,
      nextTryAt: now + Math.max(backoffMs(attempts), fromServer ? answer.wait : 0),
      waitingFor: fromServer ? "server" : "network",
      problem: answer.status === 0 ? "no_answer" : fromServer ? "server_busy" : "not_our_server",
      error: fromServer ? errorText(answer.data) || null : null,
      sendingUntil: null,
    };
  }

  // Send one item now, as `account` (from whoIsSignedIn). Resolves with the item as it ended up and
  // whether this send proved the network works. options.force: send even if sent (tests).
  var ownSends = {}; // keys this page or worker is sending now (never a second send of its own)

  function sendItem(key, account, options) {
    options = options || {};
    var result = withItemLock(key, function () {
      ownSends[key] = true;
      return firstSend(key, account, options).then(function (r) {
        delete ownSends[key];
        return r;
      }, function (error) {
        delete ownSends[key];
        throw error;
      });
    });
    return Promise.resolve(result).then(function (r) {
      if (r === BUSY) return secondSend(key, account, options);
      return r;
    });
  }

  function secondSend(key, account, options) {
    return get(key).then(function (item) {
      if (!item || item.state !== "sending" || ownSends[key] || Date.now() < secondSendAt(item) ||
          !ownedBy(item, account)) {
        return { item: item, busy: true };
      }
      var again = navigator.locks.request(lockName(key) + ":again", { ifAvailable: true }, function (lock) {
        if (!lock) return BUSY;
        return Promise.all([photosOf(key), csrfFor(options)]).then(function (both) {
          return post(item, both[0], both[1], null);
        }).then(function (answer) { return settle(key, item, answer); });
      });
      return again.then(function (r) { return r === BUSY ? { item: item, busy: true } : r; });
    });
  }

  function firstSend(key, account, options) {
    return Promise.resolve().then(function () {
      return get(key).then(function (item) {
        if (!item) return { item: null };
        if (!options.force && isFinal(item)) return { item: item };
        if (!ownedBy(item, account)) {
          if (item.state === "needs_sign_in") return { item: item };
          return update(key, { state: "needs_sign_in", problem: account ? "other_account" : "signed_out" })
            .then(function (changed) { return { item: changed }; });
        }
        return photosOf(key).then(function (photos) {
          var bytes = photos.reduce(function (n, b) { return n + (b.size || 0); }, 0);
          var until = Date.now() + SEND_TIMEOUT_MS + Math.ceil(bytes / (1024 * 1024)) * SEND_TIMEOUT_PER_MB_MS + 5000;
          // The mark is only for the list: on a full phone it may fail, and the send goes anyway.
          return update(key, { state: "sending", sendingSince: Date.now(), sendingUntil: until })
            .catch(function () { return null; })
            .then(function () { return csrfFor(options); })
            .then(function (csrf) { return post(item, photos, csrf, options.onProgress); })
            .then(function (answer) { return settle(key, item, answer); });
        });
      });
    });
  }

  // Waiting for a person, not for the network: the server's refusal, or a conflict to decide.
  function isFinal(item) {
    return item.state === "sent" || item.state === "rejected" || item.state === "conflict";
  }

  function settle(key, item, answer) {
    var changes = outcome(item, answer);
    // Free the photos first: on a full phone that makes room for writing the new state.
    var freed = changes.state === "sent" ? freePhotos(key).catch(function () {}) : Promise.resolve();
    return freed.then(function () {
      return update(key, changes).catch(function () {
        // Even a small write failed (phone full). A resend is harmless: the server answers the
        // same ticket for the same key.
        return Object.assign({}, item, changes);
      });
    }).then(function (saved) {
      return { item: saved || REMOVED, proved: answer.ours };
    });
  }

  // Items waiting only because the network failed go at once when the network proves to work.
  function waitedForNetwork(item) {
    return item.state === "waiting" && item.waitingFor !== "server";
  }

  function isDue(item, now, held, networkBack) {
    if (item.state === "waiting") return (item.nextTryAt || 0) <= now || (networkBack && waitedForNetwork(item));
    if (item.state === "sending") return sendingIsDead(item, now, held) || now >= secondSendAt(item);
    if (item.state === "needs_sign_in") return true; // sendItem checks the owner first
    return false;
  }

  // Is there anything that could still leave by itself (not waiting for a person)?
  function isPending(item, account) {
    if (item.state === "waiting" || item.state === "sending") return !account || ownedBy(item, account);
    return false;
  }

  function housekeeping(items, now) {
    return Promise.all(items.filter(function (item) {
      return item.state === "sent" && item.sentAt && now - item.sentAt > SENT_KEEP_MS;
    }).map(function (item) { return remove(item.key); }));
  }

  // Send everything that is due, as the signed-in account; after any sign of a working network,
  // everything that waited for the network goes too. Resolves with a summary:
  // {reachable, account, sent, pending, nextAt}: nextAt is when something is due again (or null).
  var lastProbeFailed = false;
  function sendDue(options) {
    options = options || {};
    var summary = { reachable: false, account: null, sent: 0, pending: false, nextAt: null };
    return all().then(function (items) {
      var open = items.some(function (i) { return ["waiting", "sending", "needs_sign_in"].indexOf(i.state) !== -1; });
      if (open) return probeAndSend(options, summary);
      return housekeeping(items, Date.now()).then(function () { return summary; }); // no request at all
    });
  }

  function probeAndSend(options, summary) {
    return whoIsSignedIn().then(function (account) {
      summary.reachable = true;
      summary.account = account;
      var networkBack = lastProbeFailed || Boolean(options.networkBack);
      lastProbeFailed = false;
      return round(account, networkBack, options, summary);
    }, function () {
      lastProbeFailed = true;
      return all().then(function (items) {
        summary.pending = items.some(function (i) { return isPending(i, null); });
        return summary;
      });
    });
  }

  function round(account, networkBack, options, summary) {
    var now = Date.now();
    return Promise.all([all(), keysBeingSent()]).then(function (both) {
      var items = both[0];
      var held = both[1];
      // Items of another account (or of nobody) say at once whom they wait for, even in backoff.
      var strangers = items.filter(function (item) {
        var idle = item.state === "waiting" || (item.state === "sending" && sendingIsDead(item, now, held));
        return idle && !ownedBy(item, account);
      });
      return Promise.all(strangers.map(function (item) {
        item.state = "needs_sign_in";
        return update(item.key, { state: "needs_sign_in", problem: account ? "other_account" : "signed_out",
          sendingUntil: null }).catch(function () {});
      })).then(function () { return housekeeping(items, now); }).then(function () {
        var due = items.filter(function (item) { return isDue(item, now, held, networkBack); });
        if (!due.length) return finish(summary, account);
        var proved = false;
        // Actions on one ticket go one after the other, in the order they were done: each was
        // queued against the version the one before it makes.
        var settled = {};
        function waitsForEarlier(item) {
          return item.endpoint && items.some(function (other) {
            return other.endpoint === item.endpoint && other.key !== item.key && other.createdAt < item.createdAt &&
              !isFinal(other) && !settled[other.key];
          });
        }
        var blocked = due.filter(waitsForEarlier);
        var queue = due.filter(function (item) { return blocked.indexOf(item) === -1; });
        function worker() {
          var item = queue.shift();
          if (!item) return Promise.resolve();
          return sendItem(item.key, account, options).then(function (r) {
            if (r.proved) proved = true;
            if (r.item && r.item.state === "sent" && item.state !== "sent") summary.sent += 1;
            if (r.item && (r.item === REMOVED || isFinal(r.item))) settled[item.key] = true;
            blocked = blocked.filter(function (next) {
              if (waitsForEarlier(next)) return true;
              queue.push(next);
              return false;
            });
          }).then(worker);
        }
        var workers = [];
        for (var i = 0; i < PARALLEL_SENDS; i++) workers.push(worker());
        return Promise.all(workers).then(function () {
          // Our server answered: whatever waited only for the network goes now, not on its timer.
          if (proved && !networkBack) return round(account, true, options, summary);
          return finish(summary, account);
        });
      });
    });
  }

  function finish(summary, account) {
    return all().then(function (items) {
      var pending = items.filter(function (i) { return isPending(i, account); });
      summary.pending = pending.length > 0;
      pending.forEach(function (item) {
        var at = item.state === "waiting" ? item.nextTryAt || Date.now()
          : Math.max(Date.now() + 1000, Math.min(secondSendAt(item), Date.now() + 5000));
        if (summary.nextAt === null || at < summary.nextAt) summary.nextAt = at;
      });
      return summary;
    });
  }

  // Send one item right away (the form, after saving it): checks who is signed in first.
  function sendNow(key, options) {
    return whoIsSignedIn().then(function (account) {
      lastProbeFailed = false;
      return sendItem(key, account, options).then(function (r) {
        if (r.proved) sendDue(options); // the network works: the rest goes too, in the background
        // The worker or another tab is sending it already: wait a little for that outcome.
        if (r.busy) return settledOf(key, 20000);
        return r.item === REMOVED ? null : r.item;
      });
    }, function () {
      lastProbeFailed = true;
      return get(key);
    });
  }

  // The item once nobody is sending it any more (or as it is after `ms`).
  function settledOf(key, ms) {
    var until = Date.now() + ms;
    return new Promise(function (resolve) {
      (function look() {
        Promise.all([get(key), keysBeingSent()]).then(function (both) {
          var item = both[0];
          var held = both[1];
          var busy = item && (held ? Boolean(held[lockName(key)]) : item.state === "sending");
          if (!busy || Date.now() > until) resolve(item || null);
          else setTimeout(look, 250);
        }, function () { resolve(null); });
      })();
    });
  }

  // The citizen sends an item written while nobody was signed in, as the signed-in account.
  function claim(key, account) {
    return update(key, { owner: account, state: "waiting", nextTryAt: 0, problem: null });
  }

  // The citizen's reports not yet sent (the staff's actions are listed on their own pages).
  function unsentCount() {
    return all().then(function (items) {
      return items.filter(function (item) { return item.state !== "sent" && !item.endpoint; }).length;
    });
  }

  root.AduanOutbox = {
    SYNC_TAG: SYNC_TAG,
    BACKOFF_MAX_MS: BACKOFF_MAX_MS,
    all: all,
    get: get,
    photosOf: photosOf,
    save: save,
    update: update,
    remove: remove,
    claim: claim,
    whoIsSignedIn: whoIsSignedIn,
    lastAccount: lastAccount,
    rememberAccount: rememberAccount,
    rememberCsrf: rememberCsrf,
    forgetAccount: forgetAccount,
    ownedBy: ownedBy,
    isPending: isPending,
    isFinal: isFinal,
    sendNow: sendNow,
    sendDue: sendDue,
    send: function (key, options) { // kept for tests: send one item now, even if sent (force)
      return whoIsSignedIn().then(function (account) {
        return sendItem(key, account, options).then(function (r) { return r.item; });
      });
    },
    unsentCount: unsentCount,
  };
})(self);
