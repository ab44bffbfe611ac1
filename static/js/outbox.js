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
            if (field.type === "radio") field.checked = field.value === item.fields[name];
            else if (field.type !== "file" && field.name !== "_csrf_token") field.value = item.fields[name];
          });
        });
        if (item.error) say(item.error, "error");
        if (item.photos && item.photos.length) {
          var hint = document.createElement("p");
          hint.className = "hint";
          hint.textContent = form.dataset.textKeptPhotos.replace("{n}", item.photos.length);
          photoInput.parentElement.insertBefore(hint, photoInput);
        }
      });
    } else {
      keyInput.value = newKey(); // a cached copy of this page must never reuse a key
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
      var files = Array.prototype.slice.call(photoInput.files || [], 0, 5);
      say(files.length ? form.dataset.textPreparing : form.dataset.textSending, "ok");
      var photosReady = files.length
        ? Promise.all(files.map(downscale))
        : Promise.resolve(editing ? editing.photos || [] : []);
      photosReady.then(function (photos) {
        var item = {
          key: keyInput.value,
          fields: fields,
          photos: photos,
          title: fields.title || "",
          createdAt: editing ? editing.createdAt : Date.now(),
          state: "waiting",
          attempts: 0,
          nextTryAt: 0,
          csrf: AduanPage.csrfToken(),
          error: null,
        };
        return AduanOutbox.put(item);
      }).then(function (item) {
        AduanPage.showOutboxCount();
        if (!navigator.onLine) return item;
        say(form.dataset.textSending, "ok");
        return AduanOutbox.send(item.key, { csrf: AduanPage.csrfToken() });
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
        AduanPage.requestBackgroundSync();
        var outbox = { href: "/menunggu", text: form.dataset.textSeeOutbox };
        if (item.state === "needs_sign_in") {
          say(form.dataset.textSignIn, "error", { href: "/masuk?next=/menunggu", text: form.dataset.textSignInLink });
        } else {
          say(form.dataset.textQueued, "ok", outbox);
        }
        // Ready for the next report: a new key, an empty form.
        form.reset();
        editing = null;
        keyInput.value = newKey();
        var previews = form.querySelector("[data-photo-previews]");
        if (previews) previews.innerHTML = "";
        AduanPage.sendOutbox();
      }).catch(function (error) {
        submit.disabled = false;
        say(String(error), "error");
      });
    });
  }

  // --- The "Menunggu dikirim" list ------------------------------------------------------------
  function setupList(list) {
    var texts = document.querySelector("[data-outbox-texts]").dataset;
    var empty = document.querySelector("[data-outbox-empty]");
    var sendAll = document.querySelector("[data-outbox-send-all]");
    var signIn = document.querySelector("[data-outbox-signin]");
    var stateText = {
      waiting: texts.waiting,
      sending: texts.sending,
      sent: texts.sent,
      rejected: texts.rejected,
      needs_sign_in: texts.needsSignIn,
    };

    function render() {
      AduanOutbox.all().then(function (items) {
        items.sort(function (a, b) { return b.createdAt - a.createdAt; });
        list.innerHTML = "";
        items.forEach(function (item) {
          var li = document.createElement("li");
          li.className = "card ticket-card outbox-item outbox-" + item.state;
          li.dataset.key = item.key;
          li.dataset.state = item.state;
          var title = document.createElement("p");
          title.className = "ticket-title";
          title.textContent = item.title || "—";
          li.appendChild(title);
          var meta = document.createElement("p");
          meta.className = "ticket-meta";
          meta.textContent = stateText[item.state] + " · " + texts.savedAt + " " +
            new Date(item.createdAt).toLocaleString(document.documentElement.lang) +
            (item.photos && item.photos.length ? " · " + item.photos.length + " " + texts.photos : "");
          li.appendChild(meta);
          if (item.number) {
            var link = document.createElement("a");
            link.href = item.url;
            link.className = "ticket-number";
            link.textContent = item.number + " — " + texts.open;
            li.appendChild(link);
          }
          if (item.error) {
            var reason = document.createElement("p");
            reason.className = "field-error outbox-reason";
            reason.textContent = item.error;
            li.appendChild(reason);
          }
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
        signIn.hidden = !items.some(function (i) { return i.state === "needs_sign_in"; });
      });
    }

    sendAll.addEventListener("click", function () {
      AduanOutbox.all().then(function (items) {
        return Promise.all(items.filter(function (i) { return i.state === "waiting"; }).map(function (i) {
          return AduanOutbox.send(i.key, { csrf: AduanPage.csrfToken() });
        }));
      }).then(render);
    });
    try {
      new BroadcastChannel("aduan-outbox").onmessage = render;
    } catch (e) { /* re-rendered on the next visit */ }
    render();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.AduanOutbox) return;
    var form = document.querySelector("[data-complaint-form]");
    if (form) setupForm(form);
    var list = document.querySelector("[data-outbox-list]");
    if (list) setupList(list);
  });
})();
