// Aduan service worker. The server writes `self.ADUAN` (version, precache list, script URLs) above
// this line when it serves /sw.js, so every release gets a new version and fresh caches.
/* global ADUAN, AduanOutbox */
"use strict";

importScripts(ADUAN.idb, ADUAN.outboxCore);

var STATIC_CACHE = "aduan-static-" + ADUAN.version;
var PAGES_CACHE = "aduan-pages-" + ADUAN.version;
var OFFLINE_URL = "/offline";
// OPD staff's pages (the queue and its tickets), one cache per staff account, for reading offline.
// Named by the account the server says the page is for (X-Aduan-Account); served only while that
// account is the one this phone last saw signed in; deleted on sign-out (static/js/opd.js) and by
// each new release (their assets change).
var STAFF_PREFIX = "aduan-staff-";
var ACCOUNT_HEADER = "X-Aduan-Account";

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
        return key.indexOf("aduan-") === 0 && key !== STATIC_CACHE && key !== PAGES_CACHE; // staff too
      }).map(function (key) { return caches.delete(key); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "SKIP_WAITING") self.skipWaiting();
});

// Every answer of our server carries this header (web/system/headers.py); a proxy's or a Wi-Fi
// login page's answer does not.
function fromUs(response) {
  return response.headers.get("X-Aduan") === "1";
}

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
        // Only our server's pages are kept: a Wi-Fi login page answering for /lapor must not be.
        if (response.ok && !response.redirected && fromUs(response)) {
          var copy = response.clone();
          caches.open(PAGES_CACHE).then(function (cache) { cache.put(url.pathname, copy); });
          return response;
        }
        // A proxy's 502 while the server restarts, a captive portal's page or redirect, our own
        // 5xx: the cached form still lets the citizen write, and the outbox sends later.
        if (!fromUs(response) || response.status >= 500) {
          return caches.match(url.pathname, { cacheName: PAGES_CACHE }).then(function (hit) {
            return hit || response;
          });
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

  if (request.mode === "navigate" && isStaffPage(url) && !request.headers.get("HX-Request")) {
    event.respondWith(staffPage(request, url));
    return;
  }

  if (request.mode === "navigate") {
    // Personal pages (my reports, a ticket, the account) are never stored on the phone.
    event.respondWith(
      fetch(request).then(function (response) {
        // A proxy's error page while our server is down says less than our offline page.
        if (response.status >= 500 && !fromUs(response)) {
          return caches.match(OFFLINE_URL, { cacheName: PAGES_CACHE }).then(function (hit) {
            return hit || response;
          });
        }
        return response;
      }).catch(function () {
        return caches.match(OFFLINE_URL, { cacheName: PAGES_CACHE });
      })
    );
  }
  // Everything else (htmx fragments, photos, /sw.js) goes to the network untouched.
});

function isStaffPage(url) {
  return url.pathname === "/opd" || /^\/opd\/tiket\/[^/]+$/.test(url.pathname);
}

// Network first; kept per account; offline, the copy of the account this phone is signed in as.
function staffPage(request, url) {
  return fetch(request).then(function (response) {
    var account = response.headers.get(ACCOUNT_HEADER);
    if (response.ok && !response.redirected && fromUs(response) && account) {
      var copy = response.clone();
      // Only while this phone still knows that account as signed in (a sign-out forgets it first).
      AduanOutbox.lastAccount().then(function (known) {
        if (known && known.account === account) {
          return caches.open(STAFF_PREFIX + account).then(function (cache) { return cache.put(url.pathname, copy); });
        }
      }).catch(function () {});
    }
    if (response.status >= 500 && !fromUs(response)) return offlineCopy(url, response);
    return response;
  }).catch(function () {
    return offlineCopy(url, null);
  });
}

function offlineCopy(url, fallback) {
  return AduanOutbox.lastAccount().catch(function () { return null; }).then(function (account) {
    if (!account) return null;
    return caches.has(STAFF_PREFIX + account.account).then(function (has) {
      return has ? caches.match(url.pathname, { cacheName: STAFF_PREFIX + account.account }) : null;
    });
  }).then(function (hit) {
    return hit || fallback || caches.match(OFFLINE_URL, { cacheName: PAGES_CACHE });
  });
}

// Background sync: the browser wakes this worker when the phone is online, even with the app closed.
// The event lasts while anything owned by the signed-in citizen can still leave: items in backoff
// are waited for (capped at 20 s each), not reported as done, or the browser would drop the
// registration with complaints still on the phone. Past the budget the event fails, which makes
// the browser fire it again later with its own backoff. Chromium ends a sync event after 3 minutes.
var SYNC_BUDGET_MS = 150 * 1000;

function pause(ms) {
  return new Promise(function (resolve) { setTimeout(resolve, ms); });
}

function drainUntilDone(deadline, unreachable) {
  return AduanOutbox.sendDue({}).then(function (summary) {
    if (!summary.pending) return null;
    unreachable = summary.reachable ? 0 : unreachable + 1;
    var wait = summary.reachable && summary.nextAt
      ? summary.nextAt - Date.now()
      : 2000 * Math.pow(2, Math.min(unreachable, 4));
    wait = Math.max(1000, Math.min(AduanOutbox.BACKOFF_MAX_MS, wait));
    if (Date.now() + wait > deadline) throw new Error("outbox: items still waiting; sync again later");
    return pause(wait).then(function () { return drainUntilDone(deadline, unreachable); });
  });
}

self.addEventListener("sync", function (event) {
  if (event.tag === AduanOutbox.SYNC_TAG) {
    var drained = drainUntilDone(Date.now() + SYNC_BUDGET_MS, 0);
    if (event.lastChance) {
      // The browser's retries end here. Registering again works while a page of ours is open (pages
      // also register whenever something waits); without one, the next opening of the app sends.
      drained = drained.catch(function (error) {
        return self.registration.sync.register(AduanOutbox.SYNC_TAG).catch(function () {}).then(function () {
          throw error;
        });
      });
    }
    event.waitUntil(drained);
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
