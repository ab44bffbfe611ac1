// OPD staff on the phone: actions go through the outbox (outbox-core.js), with or without signal;
// proof photos are made small first (photos.js); the list of actions kept on this phone; the queue
// and its tickets kept for reading offline; all of it forgotten on this phone at sign-out.
// Without JavaScript the forms post as they are.
(function () {
  "use strict";

  var STAFF_PREFIX = "aduan-staff-"; // as in service-worker/sw.js

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
    });
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, name) { return name in values ? values[name] : all; });
  }

  // Who writes an action now: asked fresh when online; offline, the account this phone last saw.
  function whoWrites() {
    if (navigator.onLine === false) return AduanOutbox.lastAccount();
    return AduanOutbox.whoIsSignedIn().then(function (account) {
      return account || AduanOutbox.lastAccount();
    }, function () { return AduanOutbox.lastAccount(); });
  }

  // --- The ticket's action forms --------------------------------------------------------------
  function setupActions(box) {
    var texts = box.dataset;
    var progress = box.querySelector("[data-opd-progress]");
    var number = box.dataset.ticket;

    function say(text, kind) {
      progress.hidden = false;
      progress.className = "notice " + (kind === "error" ? "notice-error" : "notice-ok");
      progress.textContent = text;
    }

    function buttons(form, disabled) {
      box.querySelectorAll("button").forEach(function (b) { b.disabled = disabled; });
      form.setAttribute("aria-busy", disabled ? "true" : "false");
    }

    box.addEventListener("submit", function (event) {
      var form = event.target;
      if (event.defaultPrevented || !window.AduanOutbox || !window.AduanPhotos) return;
      event.preventDefault();
      var submitter = event.submitter;
      var action = submitter && submitter.name === "action" ? submitter.value
        : (form.querySelector("input[name=action]") || {}).value;
      var label = (submitter || form.querySelector("button[type=submit]")).textContent.trim();
      var note = form.querySelector("[name=note]");
      var fields = {
        action: action,
        version: form.querySelector("input[name=version]").value,
        note: note ? note.value : "",
        done_at: String(Date.now()), // the moment it was done here, whenever it reaches the server
      };
      var files = [];
      form.querySelectorAll("input[type=file]").forEach(function (input) {
        Array.prototype.push.apply(files, Array.prototype.slice.call(input.files || []));
      });
      var picker = form.querySelector("[data-max-photos]");
      files = files.slice(0, picker ? Number(picker.dataset.maxPhotos) || 5 : 5);
      buttons(form, true);
      say(files.length ? fill(texts.textPreparing, { n: 1, total: files.length }) : texts.textSendingPlain, "ok");
      var photos = AduanPhotos.downscaleAll(files, function (n, total) {
        say(fill(texts.textPreparing, { n: Math.min(n + 1, total), total: total }), "ok");
      });
      Promise.all([photos, whoWrites(), AduanOutbox.all()]).then(function (both) {
        // Earlier actions on this ticket still on the phone each move its version on by one.
        var earlier = both[2].filter(function (other) {
          return other.endpoint === form.getAttribute("action") && !AduanOutbox.isFinal(other) &&
            both[1] && AduanOutbox.ownedBy(other, both[1]);
        }).length;
        fields.version = String(Number(fields.version) + earlier);
        var item = {
          key: newKey(),
          endpoint: form.getAttribute("action"),
          ticketNumber: number,
          fields: fields,
          title: number + " · " + label,
          createdAt: Date.now(),
          owner: both[1],
          state: "waiting",
          attempts: 0,
          nextTryAt: 0,
          error: null,
          problem: null,
        };
        return AduanOutbox.save(item, both[0]);
      }).then(function (item) {
        AduanPage.askPersistentStorage();
        if (navigator.onLine === false) {
          AduanPage.requestBackgroundSync();
          return item;
        }
        say(texts.textSendingPlain, "ok");
        AduanPage.rememberCsrf();
        return AduanOutbox.sendNow(item.key, {
          csrf: AduanPage.csrfToken(),
          onProgress: function (sent, total) {
            say(fill(texts.textSending, {
              sent: AduanPhotos.sizeText(sent), total: AduanPhotos.sizeText(total),
              percent: Math.floor(100 * sent / Math.max(1, total)) + "%",
            }), "ok");
          },
        }).then(function (sent) { return sent || item; });
      }).then(function (item) {
        if (item.state === "sent") {
          say(texts.textSent, "ok");
          // The server names the page that confirms what was done (as after a form's redirect).
          window.location.href = item.next || window.location.pathname;
          return;
        }
        buttons(form, false);
        if (item.state === "rejected" || item.state === "conflict") {
          say(item.error || "", "error"); // the form keeps what was typed
          return;
        }
        form.reset();
        say(texts.textQueued, "ok");
        AduanPage.sendOutbox();
      }).catch(function (error) {
        buttons(form, false);
        var full = error && (error.name === "QuotaExceededError" || /quota/i.test(String(error.message)));
        say(full ? texts.textFull : texts.textSaveFailed, "error");
      });
    });
  }

  // --- Actions kept on this phone -----------------------------------------------------------------
  function setupList(section) {
    var texts = section.dataset;
    var list = section.querySelector("[data-opd-outbox-list]");
    var only = section.dataset.ticket || null;
    var stateText = {
      waiting: texts.textWaiting, sending: texts.textSending, sent: texts.textSent,
      rejected: texts.textRejected, conflict: texts.textConflict, needs_sign_in: texts.textNeedsSignIn,
    };
    var SHOW_SENT_MS = 10 * 60 * 1000;

    function line(parent, className, text) {
      var p = document.createElement("p");
      p.className = className;
      p.textContent = text;
      parent.appendChild(p);
    }

    function button(parent, text, className, onClick) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = className;
      b.textContent = text;
      b.addEventListener("click", onClick);
      parent.appendChild(b);
    }

    function render() {
      Promise.all([AduanOutbox.all(), AduanOutbox.lastAccount()]).then(function (both) {
        var account = both[1];
        // Only this account's: after a sign-out nobody's are shown (they stay, and go when the
        // owner signs in again).
        var items = both[0].filter(function (item) {
          return item.endpoint && account && AduanOutbox.ownedBy(item, account) &&
            (!only || item.ticketNumber === only) &&
            (item.state !== "sent" || Date.now() - (item.sentAt || 0) < SHOW_SENT_MS);
        });
        items.sort(function (a, b) { return b.createdAt - a.createdAt; });
        list.innerHTML = "";
        items.forEach(function (item) {
          var li = document.createElement("li");
          li.className = "card ticket-card outbox-item outbox-" + item.state;
          li.dataset.key = item.key;
          li.dataset.state = item.state;
          var title = document.createElement("a");
          title.href = "/opd/tiket/" + encodeURIComponent(item.ticketNumber);
          title.className = "ticket-title";
          title.textContent = item.title;
          li.appendChild(title);
          line(li, "ticket-meta", (stateText[item.state] || item.state) + " · " + texts.textDoneAt + " " +
            new Date(Number(item.fields.done_at) || item.createdAt).toLocaleString(document.documentElement.lang) +
            (item.photoCount ? " · " + item.photoCount + " " + texts.textPhotos : ""));
          if (item.error) line(li, "field-error outbox-reason", item.error);
          if (item.ticket && item.ticket.status_label && item.state !== "sent") {
            line(li, "hint outbox-current", fill(texts.textCurrent, { status: item.ticket.status_label }));
          }
          if (item.state === "conflict" && item.ticket && item.ticket.version) {
            button(li, texts.textReapply, "button", function () {
              var fields = Object.assign({}, item.fields, { version: String(item.ticket.version) });
              AduanOutbox.update(item.key, { fields: fields, state: "waiting", nextTryAt: 0, attempts: 0,
                error: null, problem: null }).then(function () {
                return AduanPage.sendOutbox({ networkBack: true });
              }).then(render);
            });
          }
          if (item.state === "conflict" || item.state === "rejected") {
            button(li, texts.textDiscard, "button button-link", function () {
              if (window.confirm(texts.textConfirmDiscard)) AduanOutbox.remove(item.key).then(render);
            });
          }
          list.appendChild(li);
        });
        section.hidden = items.length === 0;
      });
    }

    try {
      new BroadcastChannel("aduan-outbox").addEventListener("message", render);
    } catch (e) { /* rendered again on the next visit */ }
    render();
  }

  // --- Offline reading: keep the queue's tickets on this phone, for this account only -----------
  var KEEP_TICKETS = 20; // the most urgent first (the queue is sorted by SLA): a bounded download
  var keeping = []; // copies on their way into the cache: a sign-out waits for them, then wipes

  // A copy is kept only for the account this phone still knows as signed in: once a sign-out has
  // forgotten it, a copy that arrives late is dropped instead of re-creating the wiped cache.
  function keepCopy(url, response, account) {
    return AduanOutbox.lastAccount().then(function (known) {
      if (!known || known.account !== account) return;
      return caches.open(STAFF_PREFIX + account).then(function (cache) { return cache.put(url, response); });
    });
  }

  function keepOne(url) {
    // A poll, not a person: keeping copies must not keep an unattended session signed in.
    keeping.push(fetch(url, { credentials: "same-origin", headers: { "x-aduan-poll": "1" } }).then(function (response) {
      var account = response.headers.get("X-Aduan-Account");
      if (!response.ok || response.redirected || response.headers.get("X-Aduan") !== "1" || !account) return;
      return keepCopy(url, response, account);
    }).catch(function () { /* offline meanwhile: the copy from the last visit stays */ }));
  }

  function keepQueueTickets() {
    if (!window.caches || navigator.onLine === false) return;
    var links = Array.prototype.map.call(document.querySelectorAll("a[href^='/opd/tiket/']"), function (a) {
      return new URL(a.href).pathname;
    });
    links = links.filter(function (url, i) { return links.indexOf(url) === i; }).slice(0, KEEP_TICKETS);
    links.forEach(keepOne);
    // The queue itself, when it has no copy yet: on the first visit after signing in, the worker
    // saw this page before the phone knew who is signed in, so it kept none.
    var queue = window.location.pathname;
    AduanOutbox.lastAccount().then(function (known) {
      return known && caches.match(queue, { cacheName: STAFF_PREFIX + known.account });
    }).then(function (hit) { if (!hit) keepOne(queue); }).catch(function () {});
  }

  // --- Sign-out: nothing of this account stays readable on the phone ------------------------------
  function setupSignOut(form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.staffDone) return;
      event.preventDefault();
      var go = function () {
        if (form.dataset.staffDone) return;
        form.dataset.staffDone = "1";
        form.submit();
      };
      // Queued actions stay (never lost) but belong to nobody signed in here: not shown, not sent.
      // Forgotten first, so no copy is kept from here on; then the copies already on their way
      // land, and everything is wiped.
      var forgotten = window.AduanOutbox ? AduanOutbox.forgetAccount() : Promise.resolve();
      forgotten.catch(function () {}).then(function () {
        return Promise.all(keeping);
      }).then(function () {
        if (!window.caches) return;
        return caches.keys().then(function (keys) {
          return Promise.all(keys.filter(function (k) { return k.indexOf(STAFF_PREFIX) === 0; })
            .map(function (k) { return caches.delete(k); }));
        });
      }).then(go, go);
      setTimeout(go, 3000); // signing out never waits on a stuck phone storage
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-staff-sign-out]").forEach(setupSignOut);
    if (!window.AduanOutbox) return;
    document.querySelectorAll("[data-opd-actions]").forEach(setupActions);
    // Learn who is signed in (remembered for actions done offline and for the offline copies).
    var known = navigator.onLine === false ? Promise.resolve() : AduanOutbox.whoIsSignedIn().catch(function () {});
    known.then(function (account) {
      // Another account signed in on this phone: what the previous one kept for offline reading goes.
      if (account && window.caches) {
        caches.keys().then(function (keys) {
          keys.forEach(function (k) {
            if (k.indexOf(STAFF_PREFIX) === 0 && k !== STAFF_PREFIX + account.account) caches.delete(k);
          });
        });
      }
      document.querySelectorAll("[data-opd-outbox]").forEach(setupList);
      // Copies are kept for the account just learnt (see keepCopy), so only now.
      if (document.querySelector("[data-opd-outbox]:not([data-ticket])")) keepQueueTickets();
    });
  });
})();
