// Progressive enhancement for citizen pages: GPS button and photo previews.
// Every form works without this file; it only makes filing quicker on a phone.
(function () {
  "use strict";

  function setupGps(root) {
    var button = root.querySelector("[data-gps-button]");
    var status = root.querySelector("[data-gps-status]");
    if (!button || !("geolocation" in navigator)) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = button.dataset.waiting || "Mencari lokasi…";
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          root.querySelector("[data-gps-lat]").value = pos.coords.latitude.toFixed(6);
          root.querySelector("[data-gps-lng]").value = pos.coords.longitude.toFixed(6);
          root.querySelector("[data-gps-accuracy]").value = Math.round(pos.coords.accuracy);
          status.textContent = "Lokasi GPS tersimpan (akurasi ± " + Math.round(pos.coords.accuracy) + " m).";
        },
        function () {
          status.textContent = "Lokasi tidak tersedia. Pilih kelurahan di bawah.";
        },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 }
      );
    });
  }

  function setupPreviews(input) {
    var list = input.parentElement.querySelector("[data-photo-previews]");
    if (!list || !window.URL) return;
    input.addEventListener("change", function () {
      list.innerHTML = "";
      Array.prototype.slice.call(input.files, 0, 5).forEach(function (file) {
        var item = document.createElement("li");
        var img = document.createElement("img");
        img.alt = file.name;
        img.src = URL.createObjectURL(file);
        img.onload = function () { URL.revokeObjectURL(img.src); };
        item.appendChild(img);
        list.appendChild(item);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-gps]").forEach(setupGps);
    document.querySelectorAll("input[type=file][data-max-photos]").forEach(setupPreviews);
  });
})();
