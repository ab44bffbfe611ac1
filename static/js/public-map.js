// Map of public tickets on /transparansi. The server sends points already rounded to ~100 m;
// nothing here can make them more precise. Leaflet loads only on this page, through app.js's
// loader (app.js runs first: both are deferred, app.js comes earlier in base.html).
(function () {
  "use strict";
  var box = document.querySelector("[data-public-map]");
  if (!box || !window.fetch || !window.AduanPage) return;

  function popup(properties, labels) {
    // Text nodes only: titles are citizens' words and must never be parsed as HTML.
    var node = document.createElement("div");
    var title = document.createElement("strong");
    title.textContent = properties.title;
    var meta = document.createElement("p");
    // Both names come with every point; the page's language picks one.
    var category = (document.documentElement.lang === "en" && properties.category_en) || properties.category;
    meta.textContent = properties.number + " · " + category + " · " +
      (labels[properties.status] || properties.status);
    node.appendChild(title);
    node.appendChild(meta);
    return node;
  }

  function show() {
    var labels = JSON.parse(box.dataset.statusLabels || "{}");
    Promise.all([AduanPage.loadLeaflet(box), fetch(box.dataset.geojson).then(function (r) { return r.json(); })])
      .then(function (results) {
        var L = results[0];
        var center = box.dataset.center.split(",").map(parseFloat);
        var map = L.map(box).setView(center, 12);
        L.tileLayer(box.dataset.tileUrl, { maxZoom: 18, attribution: box.dataset.tileAttribution }).addTo(map);
        L.geoJSON(results[1], {
          pointToLayer: function (feature, latlng) {
            return L.circleMarker(latlng, { radius: 6, color: "#0b5d3b", weight: 2, fillOpacity: 0.5 });
          },
          onEachFeature: function (feature, layer) { layer.bindPopup(popup(feature.properties, labels)); },
        }).addTo(map);
      })
      .catch(function () { box.hidden = true; });
  }

  box.hidden = false;
  // The map sits below the figures: Leaflet, the points and the tiles load when it comes near the
  // screen, not during the page load a phone on a slow network is waiting for.
  if (!("IntersectionObserver" in window)) return show();
  var watcher = new IntersectionObserver(function (entries) {
    if (!entries.some(function (e) { return e.isIntersecting; })) return;
    watcher.disconnect();
    show();
  }, { rootMargin: "400px 0px" });
  watcher.observe(box);
})();
