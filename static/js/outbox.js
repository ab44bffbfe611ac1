// The filing form goes through the outbox, online or not, and the "Menunggu dikirim" list.
(function () {
  "use strict";

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
    });
  }

  // Downscaled on the phone before queueing (static/js/photos.js, shared with the OPD's forms).
  var downscale = function (file) { return AduanPhotos.downscale(file); };

  // --- The server's rules, checked on the phone before a report is queued ---------------------
  // The same checks and words as web/complaints/forms.py parse_complaint_form and the photo upload,
  // fed from there (client_rules, in the form's data-rules): nothing the server would refuse for
  // a reason the phone can see is ever "saved, will be sent".
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return values[name] === undefined ? all : String(values[name]);
    });
  }

  function chars(text) { return Array.from(text).length; } // code points, as Python's len()

  function squeeze(text) { return text.split(/\s+/).filter(Boolean).join(" "); }

  function number(raw) {
    raw = raw.trim().replace(/,/g, ".");
    if (!raw) return null;
    var value = Number(raw);
    if (!isFinite(value)) throw new Error("not a number");
    return value;
  }

  function inCity(rules, lat, lng) {
    var box = rules.bbox; // south, west, north, east
    var padLat = rules.pad_km / rules.km_per_degree;
    var padLng = rules.pad_km / (rules.km_per_degree * Math.cos(((box[0] + box[2]) / 2) * Math.PI / 180));
    return box[0] - padLat <= lat && lat <= box[2] + padLat && box[1] - padLng <= lng && lng <= box[3] + padLng;
  }

  // values: field name -> text, as the form sends them. Returns field -> message ({} when fine).
  function checkComplaint(values, rules) {
    var says = rules.messages;
    var errors = {};
    function get(name) { return String(values[name] || "").trim(); }
    rules.fields.forEach(function (name) {
      var value = String(values[name] || "");
      if (value.indexOf("\u0000") !== -1) {
        errors[name] = says.nul;
        return;
      }
      var length = chars(value.trim());
      if (length > rules.max_length[name]) errors[name] = fill(says.too_long, { n: rules.max_length[name], got: length });
    });
    var key = get("client_key").replace(/^urn:/i, "").replace(/^uuid:/i, "").replace(/[{}-]/g, "");
    if (!/^[0-9a-f]{32}$/i.test(key)) errors.__all__ = says.incomplete_form;
    function current(code) { return rules.old_codes[code] || code; }
    if (rules.classifications.indexOf(current(get("classification"))) === -1) errors.classification = says.classification;
    if (!get("category")) errors.category = says.category;
    var title = chars(squeeze(get("title")));
    if (title < rules.title[0]) errors.title = says.title_short;
    else if (title > rules.title[1]) errors.title = says.title_long;
    var description = chars(get("description"));
    if (description < rules.description[0]) errors.description = says.description_short;
    else if (description > rules.description[1]) errors.description = says.description_long;
    var lat = null;
    var lng = null;
    try {
      lat = number(get("latitude"));
      lng = number(get("longitude"));
      number(get("accuracy"));
      if ((lat === null) !== (lng === null)) errors.location = says.location_incomplete;
      else if (lat !== null && !(-90 <= lat && lat <= 90 && -180 <= lng && lng <= 180)) errors.location = says.location_invalid;
    } catch (e) {
      errors.location = says.location_invalid;
    }
    if (chars(squeeze(get("address"))) > rules.address_max) errors.address = says.address_long;
    var kelurahan = get("kelurahan");
    if (kelurahan && rules.kelurahan.indexOf(kelurahan) === -1) errors.kelurahan = says.kelurahan_unknown;
    if (!kelurahan && !errors.location) {
      if (lat === null || lng === null) errors.kelurahan = says.kelurahan_missing;
      else if (!inCity(rules, lat, lng) || !rules.kelurahan.length) errors.kelurahan = says.outside_city;
    }
    if (rules.privacy_levels.indexOf(current(get("privacy")) || rules.default_privacy) === -1) errors.privacy = says.privacy;
    // The chosen category's own questions (web/complaints/questions.py): required ones and numbers.
    ((rules.questions || {})[get("category")] || []).forEach(function (question) {
      var answers = [].concat(values[question.field] || []).filter(function (v) { return String(v).trim(); });
      if (!answers.length) {
        if (question.required) errors[question.field] = fill(says.answer_required, { question: question.question });
      } else if (question.datatype === "number" && !/^[+-]?(\d+([.,]\d*)?|[.,]\d+)$/.test(String(answers[0]).trim())) {
        errors[question.field] = fill(says.answer_number, { question: question.question });
      }
    });
    return errors;
  }

  // The photos as they will leave the phone (after downscaling): count, empty, too large.
  function checkPhotos(blobs, names, rules) {
    var says = rules.messages;
    if (blobs.length > rules.max_photos) return { photos: says.too_many_photos };
    for (var i = 0; i < blobs.length; i++) {
      var reason = !blobs[i].size ? says.photo_empty : blobs[i].size > rules.photo_max_bytes ? says.photo_too_large : "";
      if (reason) return { photos: fill(says.photo_refused, { n: i + 1, name: names[i], reason: reason }) };
    }
    return {};
  }
  window.AduanComplaintCheck = { fields: checkComplaint, photos: checkPhotos };

  // Errors next to their fields and in a summary at the top that takes the focus (as the server's).
  function errorTarget(form, name) {
    if (name === "classification" || name === "privacy") {
      var radio = form.querySelector("input[name=" + name + "]");
      return { control: radio, box: radio && radio.closest("fieldset"), labelled: radio && radio.closest("fieldset") };
    }
    if (name === "location") {
      var gps = form.querySelector("[data-gps-button]");
      var control = gps && !gps.hidden ? gps : form.querySelector("#kelurahan");
      return { control: control, box: form.querySelector("label[for=kelurahan]"), before: true, labelled: control };
    }
    if (name === "photos") {
      var choose = form.querySelector("[data-photo-choose]");
      var input = form.querySelector("#photos");
      var visible = choose && choose.offsetParent !== null ? choose : input;
      return { control: visible, box: input && input.closest(".field"), labelled: input };
    }
    var field = form.querySelector("#" + name);
    if (!field) return null;
    if (name === "kelurahan" || name === "address") return { control: field, box: field, after: true, labelled: field };
    return { control: field, box: field.closest(".field"), labelled: field };
  }

  function describedBy(el, id, add) {
    var ids = (el.getAttribute("aria-describedby") || "").split(" ").filter(function (x) { return x && x !== id; });
    if (add) ids.push(id);
    if (ids.length) el.setAttribute("aria-describedby", ids.join(" "));
    else el.removeAttribute("aria-describedby");
  }

  function clearErrors(form) {
    var old = document.getElementById("form-errors");
    if (old) old.remove();
    form.querySelectorAll(".field-error[id$='-error']").forEach(function (p) {
      form.querySelectorAll("[aria-describedby~='" + p.id + "']").forEach(function (el) {
        describedBy(el, p.id, false);
        el.removeAttribute("aria-invalid");
      });
      p.remove();
    });
    form.querySelectorAll(".field-invalid").forEach(function (el) { el.classList.remove("field-invalid"); });
  }

  function showErrors(form, errors) {
    clearErrors(form);
    var summary = document.createElement("div");
    summary.className = "notice notice-error";
    summary.id = "form-errors";
    summary.setAttribute("role", "alert");
    summary.tabIndex = -1;
    var heading = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = form.dataset.textErrors;
    heading.appendChild(strong);
    summary.appendChild(heading);
    var ul = document.createElement("ul");
    Object.keys(errors).forEach(function (name) {
      var li = document.createElement("li");
      var target = errorTarget(form, name);
      if (target && target.control) {
        var id = name + "-error";
        var p = document.createElement("p");
        p.className = "field-error";
        p.id = id;
        p.textContent = errors[name];
        if (target.before) target.box.parentNode.insertBefore(p, target.box);
        else if (target.after) target.box.parentNode.insertBefore(p, target.box.nextSibling);
        else target.box.appendChild(p);
        var container = target.box.closest(".field") || target.box.parentNode;
        container.classList.add("field-invalid");
        describedBy(target.labelled, id, true);
        target.labelled.setAttribute("aria-invalid", "true");
        var link = document.createElement("a");
        link.href = "#" + (target.control.id || id);
        link.textContent = errors[name];
        link.addEventListener("click", function (event) {
          event.preventDefault();
          target.control.focus();
          target.control.scrollIntoView({ block: "center" });
        });
        li.appendChild(link);
      } else {
        li.textContent = errors[name];
      }
      ul.appendChild(li);
    });
    summary.appendChild(ul);
    var notice = document.querySelector("[data-outbox-notice]");
    if (notice) notice.hidden = true;
    form.parentNode.insertBefore(summary, notice || form);
    summary.focus();
  }

  // --- The filing form ---------------------------------------------------------------------
  function setupForm(form) {
    var notice = document.querySelector("[data-outbox-notice]");
    var keyInput = form.querySelector("input[name=client_key]");
    var photoInput = form.querySelector("input[type=file][name=photos]");
    var editing = null;
    var rules = null;
    try { rules = JSON.parse(form.dataset.rules); } catch (e) { /* the server still checks */ }

    // quiet: an update that arrives later (the outbox sent or refused it) is announced by the
    // notice's role=status without taking the focus from whatever the citizen is doing.
    function say(text, kind, link, quiet) {
      notice.hidden = false;
      notice.className = "notice " + (kind === "error" ? "notice-error" : "notice-ok");
      notice.textContent = text + " ";
      if (link) {
        var a = document.createElement("a");
        a.href = link.href;
        a.textContent = link.text;
        notice.appendChild(a);
      }
      if (!quiet) notice.focus();
    }

    // The page that said "will be sent" follows the item until it is sent or refused.
    var watched = null;
    function follow() {
      if (!watched) return;
      AduanOutbox.get(watched).then(function (item) {
        if (!item || item.key !== watched) return;
        if (item.state === "sent") {
          watched = null;
          say(fill(form.dataset.textSent, { nomor: item.number }), "ok", { href: item.url, text: form.dataset.textOpen }, true);
        } else if (item.state === "rejected") {
          watched = null;
          say(form.dataset.textRejected + " " + item.error, "error",
            { href: "/lapor?ubah=" + encodeURIComponent(item.key), text: form.dataset.textFix }, true);
        }
      });
    }
    try {
      new BroadcastChannel("aduan-outbox").onmessage = follow;
    } catch (e) { /* no BroadcastChannel: the list shows the outcome */ }

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
            else if (field.type === "checkbox") field.checked = [].concat(item.fields[name]).indexOf(field.value) >= 0;
            // What this page asked stays this page's: the fixed report answers today's questions.
            else if (field.type !== "file" && field.name !== "_csrf_token" &&
              !field.hasAttribute("data-shown-questions")) field.value = item.fields[name];
          });
        });
        AduanPage.showQuestionsOf(form);
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
      AduanPage.showQuestionsOf(form);
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
        if (name === "photos" || name === "_csrf_token" || typeof value !== "string") return;
        // A field sent more than once (a question's checkboxes) keeps every value, in a list.
        if (fields[name] === undefined) fields[name] = value;
        else fields[name] = [].concat(fields[name], value);
      });
      var files = Array.prototype.slice.call(photoInput.files || []);
      var errors = rules ? checkComplaint(fields, rules) : {};
      if (rules && files.length > rules.max_photos) errors.photos = rules.messages.too_many_photos;
      if (Object.keys(errors).length) {
        submit.disabled = false;
        showErrors(form, errors); // nothing saved; what was typed stays
        return;
      }
      clearErrors(form);
      say(files.length ? form.dataset.textPreparing : form.dataset.textSending, "ok");
      // null keeps the photos already saved with an item being fixed.
      var photosReady = files.length ? Promise.all(files.map(downscale)) : Promise.resolve(editing ? null : []);
      Promise.all([photosReady, whoWrites()]).then(function (both) {
        var photoErrors = rules && both[0] ? checkPhotos(both[0], files.map(function (f) { return f.name; }), rules) : {};
        if (photoErrors.photos) throw { formErrors: photoErrors };
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
          watched = item.key;
          AduanPage.sendOutbox();
        }
        ready();
        warnIfAlmostFull();
      }).catch(function (error) {
        submit.disabled = false;
        // Nothing was saved; what the citizen typed stays in the form.
        if (error && error.formErrors) {
          showErrors(form, error.formErrors);
          return;
        }
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

    // Announce each item whose state changed since the last drawing: sent with its number, refused
    // with the server's reason, any other state by name. The first drawing says what waits or was
    // refused, so a screen reader hears the list's state on arrival.
    var announce = document.querySelector("[data-outbox-announce]");
    var shownStates = null;
    function announceChanges(items) {
      if (!announce) return;
      var said = [];
      var before = shownStates;
      shownStates = {};
      items.forEach(function (item) {
        shownStates[item.key] = item.state;
        var changed = before ? before[item.key] !== item.state
          : item.state === "rejected" || item.state === "waiting";
        if (!changed) return;
        var values = { judul: item.title || "—", nomor: item.number || "", alasan: item.error || "" };
        if (before && item.state === "sent" && item.number) said.push(fill(texts.announceSent, values));
        else if (item.state === "rejected" && item.error) said.push(fill(texts.announceRejected, values));
        else said.push((item.title || "—") + ": " + stateText[item.state]);
      });
      if (said.length) announce.textContent = said.join(" ");
    }

    function render() {
      Promise.all([AduanOutbox.all(), AduanOutbox.lastAccount()]).then(function (both) {
        var items = both[0].filter(function (i) { return !i.endpoint; }); // OPD actions: their own pages
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
