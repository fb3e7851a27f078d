/* Maps: an enhancement over the list of addresses that is always in the page.
   Data comes from data-* attributes and json_script blocks (CSP forbids inline scripts).
   [data-map]           container; data-points = id of a JSON list of {lat, lon, label}
   data-center          id of a JSON {lat, lon} (optional)
   data-pick-lat/-lon   ids of inputs a click on the map fills (the idea form)
   data-tile-url        tile server URL template (settings.MAP_TILE_URL) */
(function () {
  "use strict";

  function readJson(id) {
    var node = id && document.getElementById(id);
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function setup(container) {
    if (typeof L === "undefined") { return; }
    var points = readJson(container.dataset.points) || [];
    var center = readJson(container.dataset.center) || points[0] || { lat: 56.8389, lon: 60.6057 };
    container.classList.add("map-ready");
    var map = L.map(container, { scrollWheelZoom: false }).setView([center.lat, center.lon], points.length ? 15 : 12);
    // Leaflet's default prefix carries a national flag; a municipal site names the library only.
    map.attributionControl.setPrefix("Leaflet");
    // A map in a part of a form that was hidden when it loaded must measure itself again.
    document.addEventListener("change", function () { window.setTimeout(function () { map.invalidateSize(); }, 0); });
    var failures = 0;
    var tiles = L.tileLayer(container.dataset.tileUrl, { maxZoom: 19, attribution: container.dataset.attribution || "" });
    tiles.on("tileerror", function () {
      failures += 1;
      if (failures === 3) {
        var note = document.createElement("p");
        note.className = "map-failed";
        note.textContent = container.dataset.tilesFailed || "";
        container.parentNode.insertBefore(note, container.nextSibling);
      }
    });
    tiles.addTo(map);
    var bounds = [];
    points.forEach(function (point) {
      L.marker([point.lat, point.lon], { title: point.label, alt: point.label }).addTo(map).bindPopup(document.createTextNode(point.label));
      bounds.push([point.lat, point.lon]);
    });
    if (bounds.length > 1) { map.fitBounds(bounds, { padding: [24, 24] }); }

    var latInput = document.getElementById(container.dataset.pickLat || "");
    var lonInput = document.getElementById(container.dataset.pickLon || "");
    if (latInput && lonInput) {
      var picked = null;
      var place = function (lat, lon) {
        if (picked) { picked.setLatLng([lat, lon]); } else { picked = L.marker([lat, lon]).addTo(map); }
      };
      if (latInput.value && lonInput.value) { place(parseFloat(latInput.value), parseFloat(lonInput.value)); }
      map.on("click", function (event) {
        latInput.value = event.latlng.lat.toFixed(6);
        lonInput.value = event.latlng.lng.toFixed(6);
        place(event.latlng.lat, event.latlng.lng);
      });
    }
  }

  function start() {
    var containers = document.querySelectorAll("[data-map]");
    for (var i = 0; i < containers.length; i += 1) { setup(containers[i]); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
