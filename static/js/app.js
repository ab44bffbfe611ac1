// Progressive enhancement on every page: service worker (offline, updates), the outbox's
// background sending, the GPS button, the map picker and the photo picker.
// Every form works without this file.
(function () {
  "use strict";

  // The CSRF cookie is "__Host-csrftoken" over https, "csrftoken" over plain http (development).
  // The prefixed one wins: over https a plain one may have been planted by a sibling subdomain.
  // Read from the cookie, not the page: pages are cached for offline use and must stay generic.
  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|;\\s*)" + name + "=([^;]+)"));
    return match ? decodeURIComponent(match[1]) : "";
  }
  function csrfToken() {
    return cookie("__Host-csrftoken") || cookie("csrftoken");
  }
  window.AduanPage = { csrfToken: csrfToken };

  // --- Service worker: install, and offer a reload when a new release is waiting ---------------
  function offerUpdate(registration) {
    var banner = document.querySelector("[data-update-banner]");
    if (!banner || !registration.waiting) return;
    banner.hidden = false;
    banner.querySelector("[data-update-reload]").onclick = function () {
      registration.waiting.postMessage({ type: "SKIP_WAITING" });
    };
  }

  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    var reloading = false;
    navigator.serviceWorker.addEventListener("controllerchange", function () {
      // Only after the citizen chose to update (first installs claim without a waiting worker).
      if (reloading || !window.__aduanUpdateChosen) return;
      reloading = true;
      window.location.reload();
    });
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function (registration) {
      if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration);
      registration.addEventListener("updatefound", function () {
        var worker = registration.installing;
        worker.addEventListener("statechange", function () {
          if (worker.state === "installed" && navigator.serviceWorker.controller) offerUpdate(registration);
        });
      });
    });
    document.addEventListener("click", function (event) {
      if (event.target.matches("[data-update-reload]")) window.__aduanUpdateChosen = true;
    });
  }

  // --- Outbox: send on open, when the connection returns, and on a timer while anything waits ----
  // The core (outbox-core.js) decides what is due and what counts as sent; this page only says when.
  var retryTimer = null;
  var draining = null;
  var drainAgain = false;

  function scheduleDrain(summary) {
    clearTimeout(retryTimer);
    if (!summary || !summary.pending) return;
    // Unreachable (offline, lie-fi, captive portal): probe again soon; the cap keeps it to 20 s.
    var at = summary.reachable && summary.nextAt ? summary.nextAt : Date.now() + 5000;
    var wait = Math.max(1000, Math.min(AduanOutbox.BACKOFF_MAX_MS, at - Date.now()));
    retryTimer = setTimeout(function () { sendOutbox(); }, wait);
    requestBackgroundSync(); // and if this page closes first, the worker carries on
  }

  function sendOutbox(options) {
    if (!window.AduanOutbox) return Promise.resolve(null);
    if (navigator.onLine === false) return Promise.resolve(null); // the "online" event drains
    if (draining) {
      drainAgain = true;
      return draining;
    }
    var csrf = csrfToken();
    AduanOutbox.rememberCsrf(csrf);
    draining = AduanOutbox.sendDue({ csrf: csrf, networkBack: options && options.networkBack })
      .catch(function () { return null; })
      .then(function (summary) {
        draining = null;
        if (drainAgain) {
          drainAgain = false;
          return sendOutbox();
        }
        scheduleDrain(summary);
        return summary;
      });
    return draining;
  }

  function requestBackgroundSync() {
    if (!("serviceWorker" in navigator)) return Promise.resolve(false);
    return navigator.serviceWorker.ready.then(function (registration) {
      if (!registration.sync) return false;
      return registration.sync.register(AduanOutbox.SYNC_TAG).then(function () { return true; });
    }).catch(function () { return false; });
  }
  window.AduanPage.sendOutbox = sendOutbox;
  window.AduanPage.requestBackgroundSync = requestBackgroundSync;

  // Ask once, when something first waits on this phone, that the browser never evicts the outbox.
  function askPersistentStorage() {
    if (!navigator.storage || !navigator.storage.persist) return;
    try {
      if (localStorage.getItem("aduan-persist-asked")) return;
      localStorage.setItem("aduan-persist-asked", "1");
    } catch (e) { /* private mode: ask anyway */ }
    navigator.storage.persisted().then(function (persisted) {
      if (!persisted) return navigator.storage.persist();
      return true;
    }).catch(function () {});
  }
  window.AduanPage.askPersistentStorage = askPersistentStorage;
  window.AduanPage.rememberCsrf = function () { return AduanOutbox.rememberCsrf(csrfToken()); };

  // Signing out: the citizen chooses whether their unsent reports stay on this phone (sent when
  // they sign in again; nobody else can send them) or are deleted from it.
  function setupSignOut(form) {
    var box = form.querySelector("[data-outbox-keep]");
    if (!box || !window.AduanOutbox) return;
    var mine = [];
    AduanOutbox.lastAccount().then(function (account) {
      return AduanOutbox.all().then(function (items) {
        mine = items.filter(function (i) {
          return i.state !== "sent" && !i.endpoint && (!account || !i.owner || AduanOutbox.ownedBy(i, account));
        });
        if (!mine.length) return;
        box.querySelector("[data-outbox-keep-count]").textContent = String(mine.length);
        box.hidden = false;
      });
    });
    form.addEventListener("submit", function (event) {
      if (form.dataset.outboxDone) return;
      event.preventDefault();
      var choice = form.querySelector("input[name=outbox_choice]:checked");
      var removeMine = mine.length > 0 && choice && choice.value === "delete";
      var go = function () {
        if (form.dataset.outboxDone) return;
        form.dataset.outboxDone = "1";
        form.submit();
      };
      // Nobody is "the writer" on this phone after a sign-out; kept items stay their owner's.
      AduanOutbox.forgetAccount().then(function () {
        if (removeMine) return Promise.all(mine.map(function (i) { return AduanOutbox.remove(i.key); }));
        return null;
      }).then(go, go);
      setTimeout(go, 3000); // signing out never waits on a stuck phone storage
    });
  }

  function showOutboxCount() {
    var badge = document.querySelector("[data-outbox-count]");
    if (!badge || !window.AduanOutbox) return;
    AduanOutbox.unsentCount().then(function (n) {
      badge.hidden = n === 0;
      badge.textContent = n ? " (" + n + ")" : "";
    });
  }
  window.AduanPage.showOutboxCount = showOutboxCount;

  // --- Location: GPS fix, or a point picked on the map (Leaflet loaded only when asked) ---------
  function setLocation(root, lat, lng, accuracy) {
    root.querySelector("[data-gps-lat]").value = lat.toFixed(6);
    root.querySelector("[data-gps-lng]").value = lng.toFixed(6);
    root.querySelector("[data-gps-accuracy]").value = accuracy == null ? "" : Math.round(accuracy);
  }

  function setupGps(root) {
    var button = root.querySelector("[data-gps-button]");
    var status = root.querySelector("[data-gps-status]");
    if (!button || !("geolocation" in navigator)) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = button.dataset.waiting;
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          setLocation(root, pos.coords.latitude, pos.coords.longitude, pos.coords.accuracy);
          status.textContent = button.dataset.found.replace("{m}", Math.round(pos.coords.accuracy));
        },
        function () { status.textContent = button.dataset.failed; },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 }
      );
    });
  }

  // Leaflet's files come from the map box's data attributes; one loader for the picker here and
  // the public map (public-map.js).
  function loadLeaflet(box) {
    if (window.L) return Promise.resolve(window.L);
    return new Promise(function (resolve, reject) {
      var css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = box.dataset.leafletCss;
      document.head.appendChild(css);
      var script = document.createElement("script");
      script.src = box.dataset.leafletJs;
      script.onload = function () { resolve(window.L); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }
  window.AduanPage.loadLeaflet = loadLeaflet;

  function setupMap(root) {
    var button = root.querySelector("[data-map-button]");
    var box = root.querySelector("[data-map]");
    var status = root.querySelector("[data-gps-status]");
    if (!button || !box) return;
    button.hidden = false;
    var help = root.querySelector("[data-map-help]");
    // Arrow keys move the pin this many screen pixels (a few metres at street zoom).
    var KEY_STEP = { ArrowUp: [0, -20], ArrowDown: [0, 20], ArrowLeft: [-20, 0], ArrowRight: [20, 0] };
    button.addEventListener("click", function () {
      box.hidden = false;
      if (help) help.hidden = false;
      loadLeaflet(box).then(function (L) {
        if (box._map) return;
        var lat = parseFloat(root.querySelector("[data-gps-lat]").value);
        var lng = parseFloat(root.querySelector("[data-gps-lng]").value);
        var center = box.dataset.center.split(",").map(parseFloat);
        var start = isNaN(lat) ? center : [lat, lng];
        // Leaflet's own keyboard handler pans the map; here the arrow keys move the pin instead.
        var map = L.map(box, { keyboard: false, zoomControl: false }).setView(start, isNaN(lat) ? 13 : 17);
        box._map = map;
        // Leaflet's zoom buttons are named in English; these speak the page's language.
        L.control.zoom({ zoomInTitle: box.dataset.zoomIn, zoomOutTitle: box.dataset.zoomOut }).addTo(map);
        L.tileLayer(box.dataset.tileUrl, { maxZoom: 19, attribution: box.dataset.tileAttribution }).addTo(map);
        var marker = null;
        function place(latlng) {
          if (marker) marker.setLatLng(latlng);
          else marker = L.circleMarker(latlng, { radius: 12, color: "#0b5d3b", interactive: false }).addTo(map);
          setLocation(root, latlng.lat, latlng.lng, null);
          status.textContent = button.dataset.picked;
        }
        map.on("click", function (e) { place(e.latlng); });
        box.addEventListener("keydown", function (event) {
          if (event.target !== box) return; // the zoom buttons and links keep their own keys
          var step = KEY_STEP[event.key];
          if (step) {
            var from = marker ? map.latLngToContainerPoint(marker.getLatLng()) : map.getSize().divideBy(2);
            var latlng = map.containerPointToLatLng(from.add(L.point(step[0], step[1])));
            place(latlng);
            map.panInside(latlng, { padding: [24, 24] });
          } else if (event.key === "Enter" || event.key === " ") {
            place(marker ? marker.getLatLng() : map.getCenter());
          } else if (event.key === "+" || event.key === "=") {
            map.zoomIn();
          } else if (event.key === "-") {
            map.zoomOut();
          } else {
            return;
          }
          event.preventDefault();
        });
      });
    });
  }

  // --- Photo picker (components/_photo_picker.html) -------------------------------------------
  // Large camera/gallery buttons, a thumbnail and a remove button per photo. The chosen files are
  // kept in the named input (so any submit sends them) and on the element as `photoFiles`.
  function setupPhotoPicker(picker) {
    var input = picker.querySelector("input[type=file][name]");
    var buttons = picker.querySelector("[data-photo-buttons]");
    var list = picker.querySelector("[data-photo-previews]");
    var status = picker.querySelector("[data-photo-status]");
    var camera = picker.querySelector("[data-photo-camera]");
    var gallery = picker.querySelector("[data-photo-gallery]");
    var texts = picker.dataset;
    var max = Number(texts.maxPhotos) || 5;
    // Without DataTransfer the chosen files cannot be put back into the input: keep the plain one.
    if (!input || !buttons || typeof DataTransfer !== "function" || !window.URL) return;
    var files = [];

    function fill(text, values) {
      return text.replace(/\{(\w+)\}/g, function (all, name) {
        return values[name] === undefined ? all : values[name];
      });
    }

    function sync() {
      var transfer = new DataTransfer();
      files.forEach(function (file) { transfer.items.add(file); });
      input.files = transfer.files;
      picker.photoFiles = files.slice();
      picker.dispatchEvent(new CustomEvent("photos-change", { bubbles: true }));
    }

    function render(focusIndex) {
      list.innerHTML = "";
      files.forEach(function (file, i) {
        var n = i + 1;
        var item = document.createElement("li");
        var img = document.createElement("img");
        img.alt = fill(texts.textPhoto, { n: n, nama: file.name });
        img.src = URL.createObjectURL(file);
        img.onload = function () { URL.revokeObjectURL(img.src); };
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "button button-secondary photo-remove";
        remove.textContent = fill(texts.textRemove, { n: n });
        remove.addEventListener("click", function () {
          files.splice(i, 1);
          sync();
          render(Math.min(i, files.length - 1));
          say(fill(texts.textRemoved, { n: files.length, maks: max }));
        });
        item.appendChild(img);
        item.appendChild(remove);
        list.appendChild(item);
      });
      if (focusIndex === undefined) return;
      // Focus stays in the list after a removal; with none left, on the gallery button.
      var target = focusIndex >= 0 ? list.querySelectorAll(".photo-remove")[focusIndex] : null;
      (target || picker.querySelector("[data-photo-choose]")).focus();
    }

    function say(text, isError) {
      status.textContent = text;
      status.className = isError ? "field-error photo-status" : "hint photo-status";
    }

    function add(chosen) {
      var room = max - files.length;
      var taken = chosen.slice(0, Math.max(0, room));
      files = files.concat(taken);
      sync();
      render();
      if (chosen.length > taken.length) say(texts.textTooMany, true);
      else say(fill(texts.textCount, { n: files.length, maks: max }));
    }

    function fromInput(source) {
      var chosen = Array.prototype.slice.call(source.files || []);
      source.value = ""; // the same photo can be chosen again after removing it
      if (chosen.length) add(chosen);
    }

    input.hidden = true;
    buttons.hidden = false;
    picker.setPhotoFiles = function (chosen) {
      files = [];
      add(Array.prototype.slice.call(chosen || []));
    };
    picker.querySelector("[data-photo-take]").addEventListener("click", function () { camera.click(); });
    picker.querySelector("[data-photo-choose]").addEventListener("click", function () { gallery.click(); });
    camera.addEventListener("change", function () { fromInput(camera); });
    gallery.addEventListener("change", function () { fromInput(gallery); });
    // Files put into the named input itself (a test, or a browser restoring the form) replace the list.
    input.addEventListener("change", function () {
      var chosen = Array.prototype.slice.call(input.files || []);
      files = [];
      add(chosen);
    });
    if (input.form) {
      input.form.addEventListener("reset", function () {
        files = [];
        setTimeout(function () { sync(); render(); say(""); }, 0);
      });
    }
    picker.photoFiles = [];
  }

  // --- Error summary (components/_forms.html error_summary): focused, its links focus the field -
  // Reusable by a page that shows errors without a reload: AduanPage.focusErrorSummary(container).
  function errorTarget(name) {
    var field = document.getElementById(name) || document.getElementsByName(name)[0];
    if (!field) return null;
    if (field.matches("fieldset, div")) {
      var control = field.querySelector("input:not([type=hidden]), select, textarea, button:not([hidden])");
      if (control) return control;
    }
    return field;
  }

  function focusErrorSummary(root) {
    var summary = root.matches && root.matches("[data-error-summary]") ? root : root.querySelector("[data-error-summary]");
    if (!summary) return null;
    summary.querySelectorAll("a[data-error-field]").forEach(function (link) {
      if (link.dataset.errorLinked) return;
      link.dataset.errorLinked = "1";
      var target = errorTarget(link.dataset.errorField);
      if (!target) { // nothing to go to: keep the message as plain text
        link.replaceWith(document.createTextNode(link.textContent));
        return;
      }
      link.addEventListener("click", function (event) {
        event.preventDefault();
        target.scrollIntoView({ block: "center" });
        target.focus();
      });
    });
    summary.focus();
    return summary;
  }
  window.AduanPage.focusErrorSummary = focusErrorSummary;

  // --- A category's own questions (citizen's form, operator's intake) ------------------------
  // Only the chosen category's fieldset is shown; the others are hidden and disabled, so they are
  // neither sent nor checked. Without this file all are shown and the server reads the chosen one.
  function showQuestionsOf(form) {
    var select = form.querySelector("select[name=category]");
    var chosen = select ? select.value : "";
    form.querySelectorAll("fieldset[data-questions-for]").forEach(function (set) {
      var off = set.dataset.questionsFor !== chosen;
      set.hidden = off;
      set.disabled = off;
    });
  }
  window.AduanPage.showQuestionsOf = showQuestionsOf;

  function setupQuestions(form) {
    var select = form.querySelector("select[name=category]");
    if (select) select.addEventListener("change", function () { showQuestionsOf(form); });
    showQuestionsOf(form);
  }

  // --- Notifications: the browser asks for permission only when "Aktifkan notifikasi" is pressed -
  var pushEndpoint = ""; // this browser's push subscription, if it has one

  function pushSupported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  // Resolves with the endpoint ("" without one); a worker that never activates does not hold it up.
  var pushEndpointReady = !pushSupported() ? Promise.resolve("") : Promise.race([
    navigator.serviceWorker.ready
      .then(function (registration) { return registration.pushManager.getSubscription(); })
      .then(function (subscription) { pushEndpoint = subscription ? subscription.endpoint : ""; return pushEndpoint; }),
    new Promise(function (resolve) { setTimeout(function () { resolve(""); }, 4000); }),
  ]).catch(function () { return ""; });

  function keyBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function sameKey(buffer, bytes) {
    var current = buffer ? new Uint8Array(buffer) : new Uint8Array(0);
    return current.length === bytes.length && current.every(function (b, i) { return b === bytes[i]; });
  }

  function refreshDeviceLists() {
    if (!window.htmx) return;
    document.querySelectorAll("[data-push-devices]").forEach(function (el) { htmx.trigger(el, "push-ready"); });
  }

  function shownError(message) {
    var error = new Error(message);
    error.shown = true;
    return error;
  }

  function enablePush(offer) {
    var status = offer.querySelector("[data-push-status]");
    var button = offer.querySelector("[data-push-enable]");
    button.disabled = true;
    status.textContent = offer.dataset.textWorking;
    // First call in the click handler: browsers only show the prompt for a user gesture.
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") throw shownError(offer.dataset.textDenied);
      return Promise.all([
        navigator.serviceWorker.ready,
        fetch("/notifikasi/kunci").then(function (r) { return r.json(); }),
      ]);
    }).then(function (both) {
      var registration = both[0];
      var key = keyBytes(both[1].publicKey);
      return registration.pushManager.getSubscription().then(function (existing) {
        // A subscription made with an older server key would be refused by the push service.
        if (existing && sameKey(existing.options.applicationServerKey, key)) return existing;
        return (existing ? existing.unsubscribe() : Promise.resolve()).then(function () {
          return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
        });
      });
    }).then(function (subscription) {
      return fetch("/notifikasi/langganan", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "x-csrftoken": csrfToken() },
        body: JSON.stringify(subscription.toJSON()),
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (answer) {
          if (!response.ok) {
            var errors = answer.errors || {};
            throw shownError(errors.__all__ || errors.endpoint || errors.p256dh || errors.auth || offer.dataset.textFailed);
          }
          pushEndpoint = subscription.endpoint;
          status.textContent = offer.dataset.textDone;
          button.hidden = true;
          refreshDeviceLists();
        });
      });
    }).catch(function (error) {
      button.disabled = false;
      status.textContent = error && error.shown ? error.message : offer.dataset.textFailed;
    });
  }

  function registeredHere() {
    // Whether the server already sends this person's notifications to this browser.
    if (Notification.permission !== "granted") return Promise.resolve(false);
    return pushEndpointReady.then(function (endpoint) {
      if (!endpoint) return false;
      return fetch("/notifikasi/perangkat", {
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-Push-Endpoint": endpoint },
      }).then(function (r) { return r.ok ? r.json() : {}; }).then(function (a) { return Boolean(a.this_device); });
    }).catch(function () { return false; });
  }

  function setupPushOffer(offer) {
    if (offer.dataset.pushSetUp || !pushSupported()) return; // no push here: the box stays hidden
    offer.dataset.pushSetUp = "1";
    var moment = offer.dataset.pushOffer;
    if (moment === "after-sign-in") {
      if (!sessionStorage.getItem("aduan-push-offer")) return;
      sessionStorage.removeItem("aduan-push-offer");
    }
    var button = offer.querySelector("[data-push-enable]");
    button.addEventListener("click", function () { enablePush(offer); });
    if (Notification.permission === "denied") {
      if (moment !== "in-list") return; // no nagging; the device list says how to allow it
      offer.querySelector("[data-push-status]").textContent = offer.dataset.textDenied;
      button.hidden = true;
      offer.hidden = false;
      return;
    }
    if (moment === "in-list") { offer.hidden = false; return; } // the server saw it is not registered
    registeredHere().then(function (registered) { offer.hidden = registered; });
  }

  // htmx requests (uploads too) carry the CSRF token as a header, so the server never has to dig
  // through a multipart body for it.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["x-csrftoken"] = csrfToken();
    if (pushEndpoint && event.detail.path.indexOf("/notifikasi/") === 0) {
      event.detail.headers["X-Push-Endpoint"] = pushEndpoint;
    }
  });
  // Ask before an action that is hard to undo: <form data-confirm> or <button data-confirm>.
  // A listener, not onsubmit="...": the Content-Security-Policy allows no inline handlers.
  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var asker = submitter && submitter.dataset.confirm ? submitter : event.target;
    var question = asker.dataset ? asker.dataset.confirm : "";
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);
  // --- Live inbox: the server says when tickets changed; the list refreshes itself ----------------
  // The list's own refresh (hx-trigger "inbox-changed from:body") does the work, with the form's
  // filters, exactly as its 30 s timer does; that timer stays as the fallback.
  function setupLiveInbox(hook) {
    if (!window.EventSource) return;
    var source = new EventSource(hook.dataset.liveInbox);
    var opened = false;
    function changed() { document.body.dispatchEvent(new CustomEvent("inbox-changed")); }
    source.addEventListener("ready", function () {
      if (opened) changed(); // back after a drop: whatever changed meanwhile
      opened = true;
      hook.dataset.liveState = "open";
    });
    source.addEventListener("inbox-changed", changed);
    source.addEventListener("signed-out", function () {
      source.close(); // the next refresh finds the session ended and goes to the sign-in page
      hook.dataset.liveState = "closed";
    });
    source.addEventListener("error", function () {
      // CONNECTING: EventSource retries by itself; CLOSED (refused): polling only from now on.
      hook.dataset.liveState = source.readyState === EventSource.CLOSED ? "closed" : "retrying";
    });
  }

  document.addEventListener("htmx:load", function (event) {
    event.detail.elt.querySelectorAll("[data-push-offer]").forEach(setupPushOffer);
    // The account chip says who is signed in: the outbox writes new items under that account.
    var chip = event.detail.elt.matches("[data-outbox-account]") ? event.detail.elt : null;
    if (chip && chip.dataset.outboxAccount && window.AduanOutbox) {
      AduanOutbox.rememberAccount({ account: chip.dataset.outboxAccount, label: chip.dataset.outboxLabel || "" });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    registerWorker();
    document.querySelectorAll("[data-gps]").forEach(function (root) {
      setupGps(root);
      setupMap(root);
    });
    document.querySelectorAll("[data-photo-picker]").forEach(setupPhotoPicker);
    document.querySelectorAll("form").forEach(function (form) {
      if (form.querySelector("fieldset[data-questions-for]")) setupQuestions(form);
    });
    document.querySelectorAll("[data-push-offer]").forEach(setupPushOffer);
    document.querySelectorAll("[data-live-inbox]").forEach(setupLiveInbox);
    document.querySelectorAll("form[data-push-sign-in]").forEach(function (form) {
      form.addEventListener("submit", function () { sessionStorage.setItem("aduan-push-offer", "1"); });
    });
    pushEndpointReady.then(refreshDeviceLists);
    // Sign-out forms carry this browser's endpoint, so the server forgets this device then.
    pushEndpointReady.then(function (endpoint) {
      document.querySelectorAll("[data-push-endpoint]").forEach(function (input) { input.value = endpoint; });
    });
    focusErrorSummary(document);
    showOutboxCount();
    document.querySelectorAll("form[data-outbox-sign-out]").forEach(setupSignOut);
    sendOutbox();
    window.addEventListener("online", function () { sendOutbox({ networkBack: true }); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") sendOutbox();
    });
    try {
      new BroadcastChannel("aduan-outbox").onmessage = showOutboxCount;
    } catch (e) { /* no BroadcastChannel: the count refreshes on the next page */ }
  });
})();
