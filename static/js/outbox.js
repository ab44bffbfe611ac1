// The filing form goes through the outbox, online or not, and the "Menunggu dikirim" list.
(function () {
  "use strict";

  var MAX_SIDE = 1600;
  var JPEG_QUALITY = 0.8;

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
    });
  }

  // Downscale in the phone before queueing: longest side 1600 px, JPEG ~0.8, orientation applied.
  // Re-encoding through a canvas also leaves the camera's EXIF (GPS!) behind.
  function downscale(file) {
    if (!window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      var width = Math.round(bitmap.width * scale);
      var height = Math.round(bitmap.height * scale);
      var canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
      bitmap.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) { resolve(blob || file); }, "image/jpeg", JPEG_QUALITY);
      });
    }).catch(function () {
      return file; // a format the browser cannot decode (e.g. HEIC): the server converts it
    });
  }

  // --- The filing form ---------------------------------------------------------------------
  function setupForm(form) {
    var notice = document.querySelector("[data-outbox-notice]");
    var keyInput = form.querySelector("input[name=client_key]");
    var photoInput = form.querySelector("input[type=file][name=photos]");
    var editing = null;

    function say(text, kind, link) {
      notice.hidden = false;
      notice.className = "notice " + (kind === "error" ? "notice-error" : "notice-ok");
      notice.textContent = text + " ";
      if (link) {
        var a = document.createElement("a");
        a.href = link.href;
        a.textContent = link.text;
        notice.appendChild(a);
      }
      notice.focus();
    }

    var params = new URLSearchParams(window.location.search);
    if (params.get("ubah")) {
      AduanOutbox.get(params.get("ubah")).then(function (item) {
        if (!item || item.state === "sent") return;
        editing = item;
        keyInput.value = item.key;
        Object.keys(item.fields).forEach(function (name) {
          var fields = form.querySelectorAll("[name='" + name + "']");
          fields.forEach(function (field) {
            // An item queued before the codes were renamed holds an old code (data-old-codes).
            if (field.type === "radio") field.checked = field.value === item.fields[name] ||
              (field.dataset.oldCodes || "").split(" ").indexOf(item.fields[name]) >= 0;
            else if (field.type !== "file" && field.name !== "_csrf_token") field.value = item.fields[name];
          });
        });
        if (item.error) say(item.error, "error");
        if (item.photoCount) {
          var hint = document.createElement("p");
          hint.className = "hint";
          hint.textContent = form.dataset.textKeptPhotos.replace("{n}", item.photoCount);
          photoInput.parentElement.insertBefore(hint, photoInput);
        }
      });
    } else {
      keyInput.value = newKey(); // a cached copy of this page must never reuse a key
    }

    function ready() {
      form.reset();
      editing = null;
      keyInput.value = newKey(); // ready for the next report: a new key, an empty form
      var previews = form.querySelector("[data-photo-previews]");
      if (previews) previews.innerHTML = "";
    }

    function whoWrites() {
      // Asked fresh when online; offline or signed out (an expired session), the account this phone
      // last saw signed in. After an explicit sign-out there is none: the item waits for a claim.
      if (navigator.onLine === false) return AduanOutbox.lastAccount();
      return AduanOutbox.whoIsSignedIn().then(function (account) {
        return account || AduanOutbox.lastAccount();
      }, function () { return AduanOutbox.lastAccount(); });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      var data = new FormData(form);
      var fields = {};
      data.forEach(function (value, name) {
        if (name !== "photos" && name !== "_csrf_token" && typeof value === "string") fields[name] = value;
      });
      var files = Array.prototype.slice.call(photoInput.files || [], 0, Number(photoInput.dataset.maxPhotos) || 5);
      say(files.length ? form.dataset.textPreparing : form.dataset.textSending, "ok");
      // null keeps the photos already saved with an item being fixed.
      var photosReady = files.length ? Promise.all(files.map(downscale)) : Promise.resolve(editing ? null : []);
      Promise.all([photosReady, whoWrites()]).then(function (both) {
        var item = {
          key: keyInput.value,
          fields: fields,
          title: fields.title || "",
          createdAt: editing ? editing.createdAt : Date.now(),
          // An item belongs to whoever wrote it; a fixed item stays its writer's.
          owner: editing && editing.owner ? editing.owner : both[1],
          state: "waiting",
          attempts: 0,
          nextTryAt: 0,
          error: null,
          problem: null,
        };
        if (editing) {
          item.photoCount = editing.photoCount || 0;
          item.photoBytes = editing.photoBytes || 0;
        }
        return AduanOutbox.save(item, both[0]);
      }).then(function (item) {
        AduanPage.showOutboxCount();
        AduanPage.askPersistentStorage();
        if (navigator.onLine === false) {
          AduanPage.requestBackgroundSync();
          return item;
        }
        say(form.dataset.textSending, "ok");
        AduanPage.rememberCsrf();
        return AduanOutbox.sendNow(item.key, { csrf: AduanPage.csrfToken() }).then(function (sent) {
          return sent || item;
        });
      }).then(function (item) {
        submit.disabled = false;
        if (item.state === "sent") {
          window.location.href = item.url + "?terkirim=1";
          return;
        }
        if (item.state === "rejected") {
          say(form.dataset.textRejected + " " + item.error, "error");
          return; // the form keeps its input; sending again updates the same outbox item
        }
        var outbox = { href: "/menunggu", text: form.dataset.textSeeOutbox };
        if (item.state === "needs_sign_in") {
          var text = item.owner
            ? form.dataset.textOwnerSignIn.replace("{akun}", item.owner.label)
            : form.dataset.textSignIn;
          say(text, "error", { href: "/masuk?next=/menunggu", text: form.dataset.textSignInLink });
        } else {
          say(form.dataset.textQueued, "ok", outbox);
          AduanPage.sendOutbox();
        }
        ready();
        warnIfAlmostFull();
      }).catch(function (error) {
        submit.disabled = false;
        // Nothing was saved; what the citizen typed stays in the form.
        var full = error && (error.name === "QuotaExceededError" || /quota/i.test(String(error.message)));
        say(full ? form.dataset.textFull : form.dataset.textSaveFailed, "error");
      });
    });

    function warnIfAlmostFull() {
      storageRoom().then(function (room) {
        if (room && room.free < ALMOST_FULL_BYTES) {
          var warning = document.createElement("p");
          warning.className = "field-error";
          warning.textContent = form.dataset.textAlmostFull;
          notice.appendChild(warning);
        }
      });
    }
  }

  // Free room for this site on the phone, as the browser reports it (null when it does not say).
  var ALMOST_FULL_BYTES = 20 * 1024 * 1024;
  function storageRoom() {
    if (!navigator.storage || !navigator.storage.estimate) return Promise.resolve(null);
    return navigator.storage.estimate().then(function (e) {
      if (!e.quota) return null;
      return { used: e.usage || 0, free: Math.max(0, e.quota - (e.usage || 0)) };
    }).catch(function () { return null; });
  }

  function megabytes(bytes) {
    return (bytes / (1024 * 1024)).toLocaleString(document.documentElement.lang, { maximumFractionDigits: 1 }) + " MB";
  }

  // --- The "Menunggu dikirim" list ------------------------------------------------------------
  function setupList(list) {
    var texts = document.querySelector("[data-outbox-texts]").dataset;
    var empty = document.querySelector("[data-outbox-empty]");
    var sendAll = document.querySelector("[data-outbox-send-all]");
    var room = document.querySelector("[data-outbox-storage]");
    var stateText = {
      waiting: texts.waiting,
      sending: texts.sending,
      sent: texts.sent,
      rejected: texts.rejected,
      needs_sign_in: texts.needsSignIn,
    };
    var problemText = {
      no_answer: texts.problemNoAnswer,
      not_our_server: texts.problemNotOurServer,
      server_busy: texts.problemServerBusy,
    };

    function line(parent, className, text) {
      var p = document.createElement("p");
      p.className = className;
      p.textContent = text;
      parent.appendChild(p);
      return p;
    }

    function ownerLine(item, account) {
      if (!item.owner) return texts.ownerUnknown;
      if (account && AduanOutbox.ownedBy(item, account)) return "";
      return texts.ownerWaiting.replace("{akun}", item.owner.label);
    }

    // Announce each item whose state changed since the last drawing (the first drawing says
    // how many wait, so a screen reader hears the list's state on arrival).
    var announce = document.querySelector("[data-outbox-announce]");
    var shownStates = null;
    function announceChanges(items) {
      if (!announce) return;
      var said = [];
      var before = shownStates;
      shownStates = {};
      items.forEach(function (item) {
        shownStates[item.key] = item.state;
        if (before && before[item.key] !== item.state) said.push((item.title || "—") + ": " + stateText[item.state]);
      });
      if (!before) {
        items.forEach(function (item) {
          if (item.state === "rejected" || item.state === "waiting") said.push((item.title || "—") + ": " + stateText[item.state]);
        });
      }
      if (said.length) announce.textContent = said.join(". ");
    }

    function render() {
      Promise.all([AduanOutbox.all(), AduanOutbox.lastAccount()]).then(function (both) {
        var items = both[0];
        var account = both[1];
        items.sort(function (a, b) { return b.createdAt - a.createdAt; });
        announceChanges(items);
        list.innerHTML = "";
        var waitingBytes = 0;
        items.forEach(function (item) {
          if (item.state !== "sent") waitingBytes += item.photoBytes || 0;
          var li = document.createElement("li");
          li.className = "card ticket-card outbox-item outbox-" + item.state;
          li.dataset.key = item.key;
          li.dataset.state = item.state;
          line(li, "ticket-title", item.title || "—");
          line(li, "ticket-meta", stateText[item.state] + " · " + texts.savedAt + " " +
            new Date(item.createdAt).toLocaleString(document.documentElement.lang) +
            (item.photoCount ? " · " + item.photoCount + " " + texts.photos : ""));
          if (item.state === "needs_sign_in") {
            var who = ownerLine(item, account);
            if (who) line(li, "field-error outbox-owner", who);
            if (!account || (item.owner && !AduanOutbox.ownedBy(item, account))) {
              var signIn = document.createElement("a");
              signIn.className = "button";
              signIn.href = "/masuk?next=/menunggu";
              signIn.textContent = texts.signIn;
              li.appendChild(signIn);
            }
            if (!item.owner && account) {
              var claim = document.createElement("button");
              claim.type = "button";
              claim.className = "button";
              claim.textContent = texts.claim.replace("{akun}", account.label);
              claim.onclick = function () {
                AduanOutbox.claim(item.key, account).then(function () { return AduanPage.sendOutbox(); });
              };
              li.appendChild(claim);
            }
          }
          if (item.state === "waiting" && problemText[item.problem]) {
            line(li, "hint outbox-problem", problemText[item.problem]);
          }
          if (item.number) {
            var link = document.createElement("a");
            link.href = item.url;
            link.className = "ticket-number";
            link.textContent = item.number + " — " + texts.open;
            li.appendChild(link);
          }
          if (item.error) line(li, "field-error outbox-reason", item.error);
          if (item.state === "rejected") {
            var fix = document.createElement("a");
            fix.className = "button";
            fix.href = "/lapor?ubah=" + encodeURIComponent(item.key);
            fix.textContent = texts.fix;
            li.appendChild(fix);
          }
          if (item.state !== "sent") {
            var drop = document.createElement("button");
            drop.type = "button";
            drop.className = "button button-link";
            drop.textContent = texts.remove;
            drop.onclick = function () {
              if (window.confirm(texts.confirmRemove)) AduanOutbox.remove(item.key).then(render);
            };
            li.appendChild(drop);
          }
          list.appendChild(li);
        });
        var unsent = items.filter(function (i) { return i.state !== "sent"; });
        empty.hidden = unsent.length > 0;
        sendAll.hidden = !unsent.some(function (i) { return i.state === "waiting"; });
        showRoom(unsent.length ? waitingBytes : 0);
      });
    }

    // How much room the waiting reports take, and a warning before the phone is full.
    function showRoom(waitingBytes) {
      storageRoom().then(function (free) {
        var parts = [];
        if (waitingBytes) parts.push(texts.storageUsed.replace("{ukuran}", megabytes(waitingBytes)));
        if (free) parts.push(texts.storageFree.replace("{ukuran}", megabytes(free.free)));
        var almostFull = Boolean(free && free.free < ALMOST_FULL_BYTES);
        if (almostFull) parts.push(texts.storageAlmostFull);
        room.textContent = parts.join(" ");
        room.hidden = parts.length === 0;
        room.className = almostFull ? "notice notice-error" : "hint";
      });
    }

    sendAll.addEventListener("click", function () {
      AduanPage.sendOutbox({ networkBack: true }).then(render);
    });
    try {
      new BroadcastChannel("aduan-outbox").onmessage = render;
    } catch (e) { /* re-rendered on the next visit */ }
    render();
    // The page's own drain learns who is signed in; show the owner lines against that.
    AduanPage.sendOutbox().then(render, render);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.AduanOutbox) return;
    var form = document.querySelector("[data-complaint-form]");
    if (form) setupForm(form);
    var list = document.querySelector("[data-outbox-list]");
    if (list) setupList(list);
  });
})();
