// Aduan service worker. The server writes `self.ADUAN` (version, precache list, script URLs) above
// this line when it serves /sw.js, so every release gets a new version and fresh caches.
/* global ADUAN, AduanOutbox */
"use strict";

importScripts(ADUAN.idb, ADUAN.outboxCore);

var STATIC_CACHE = "aduan-static-" + ADUAN.version;
var PAGES_CACHE = "aduan-pages-" + ADUAN.version;
var OFFLINE_URL = "/offline";

self.addEventListener("install", function (event) {
  // Precache the shell. The new worker then waits: the page offers a reload, so a tab never runs
  // old JS against a new server, or the reverse.
  event.waitUntil(
    Promise.all([
      caches.open(STATIC_CACHE).then(function (cache) { return cache.addAll(ADUAN.precache); }),
      caches.open(PAGES_CACHE).then(function (cache) {
        return cache.addAll(ADUAN.shellPages.map(function (url) {
          return new Request(url, { credentials: "same-origin", cache: "reload" });
        }));
      }),
    ])
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (key) {
        return key.indexOf("aduan-") === 0 && key !== STATIC_CACHE && key !== PAGES_CACHE;
      }).map(function (key) { return caches.delete(key); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "SKIP_WAITING") self.skipWaiting();
});

function isShellPage(url) {
  return ADUAN.shellPages.indexOf(url.pathname) !== -1;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  // Only our own GETs. POSTs (filings) are never cached: the outbox keeps them instead.
  if (request.method !== "GET" || url.origin !== self.location.origin) return;

  if (url.pathname.indexOf("/static/") === 0) {
    // Content-hashed names never change: cache first, and keep what was fetched (e.g. the map).
    event.respondWith(
      caches.match(request).then(function (hit) {
        return hit || fetch(request).then(function (response) {
          if (response.ok) {
            var copy = response.clone();
            caches.open(STATIC_CACHE).then(function (cache) { cache.put(request, copy); });
          }
          return response;
        });
      })
    );
    return;
  }

  if (request.mode === "navigate" && isShellPage(url) && !request.headers.get("HX-Request")) {
    // Network first, so a signed-in citizen always sees today's page; the cached copy is the
    // fallback without signal. Shell pages carry no personal data, so caching them is safe.
    event.respondWith(
      fetch(request).then(function (response) {
        if (response.ok && !response.redirected) {
          var copy = response.clone();
          caches.open(PAGES_CACHE).then(function (cache) { cache.put(url.pathname, copy); });
        }
        return response;
      }).catch(function () {
        return caches.match(url.pathname, { cacheName: PAGES_CACHE }).then(function (hit) {
          return hit || caches.match(OFFLINE_URL, { cacheName: PAGES_CACHE });
        });
      })
    );
    return;
  }

  if (request.mode === "navigate") {
    // Personal pages (my reports, a ticket, the account) are never stored on the phone.
    event.respondWith(
      fetch(request).catch(function () {
        return caches.match(OFFLINE_URL, { cacheName: PAGES_CACHE });
      })
    );
  }
  // Everything else (htmx fragments, photos, /sw.js) goes to the network untouched.
});

self.addEventListener("sync", function (event) {
  if (event.tag === AduanOutbox.SYNC_TAG) {
    // Rejecting makes the browser retry the sync later with its own backoff.
    event.waitUntil(
      AduanOutbox.sendDue().then(function (items) {
        var stillWaiting = items.some(function (item) { return item && item.state === "waiting"; });
        if (stillWaiting) throw new Error("outbox: some items still waiting");
      })
    );
  }
});

// --- Notifications -----------------------------------------------------------------------------
// The server's payload: { title, body, url, tag, kind } (web/notifications/delivery.py). The tag is
// the ticket number, so a newer update about a ticket replaces the older one in the tray.
self.addEventListener("push", function (event) {
  var data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { body: event.data ? event.data.text() : "" };
  }
  var options = {
    body: data.body || "",
    icon: ADUAN.icon,
    badge: ADUAN.icon,
    lang: "id",
    data: { url: data.url || "/" },
  };
  if (data.tag) {
    options.tag = data.tag;
    options.renotify = true;
  }
  event.waitUntil(self.registration.showNotification(data.title || "Aduan", options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (url.origin !== self.location.origin) url = new URL("/", self.location.origin); // our pages only
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      for (var i = 0; i < windows.length; i++) {
        var open = new URL(windows[i].url);
        if (open.pathname + open.search === url.pathname + url.search && "focus" in windows[i]) {
          return windows[i].focus();
        }
      }
      return self.clients.openWindow(url.href);
    })
  );
});
