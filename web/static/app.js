/* Hongtu 红途 — maps and type-ahead. Data arrives as JSON in <script type="application/json"> blocks and is
   only ever put into the page with textContent / DOM properties, never as HTML. */
(function () {
  "use strict";

  function readJSON(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  var config = readJSON("hongtu-config") || {};
  var zh = config.lang === "zh";
  var strings = config.strings || {};
  var DAY_COLOURS = ["#c62828", "#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457", "#4e342e",
                     "#283593", "#558b2f"];

  function nameOf(item) { return (zh ? item.name_zh : item.name_en) || item.name_zh || item.name_en || ""; }
  function otherName(item) { return (zh ? item.name_en : item.name_zh) || ""; }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function siteLink(id, text) {
    var a = el("a", text);
    a.href = "/sites/" + encodeURIComponent(id);
    return a;
  }

  function makeMap(container) {
    var map = L.map(container, { scrollWheelZoom: true, worldCopyJump: false });
    if (config.tileUrl) {
      L.tileLayer(config.tileUrl, { maxZoom: 18, attribution: config.attribution || "" }).addTo(map);
    }
    map.setView(config.center || [26.9, 113.95], config.zoom || 7);
    container.classList.add("map-ready");
    return map;
  }

  function pinIcon(category, extra) {
    return L.divIcon({ className: "site-pin site-pin-" + (category || "red") + (extra ? " " + extra : ""),
                       iconSize: [14, 14], iconAnchor: [7, 7], popupAnchor: [0, -6] });
  }

  function sitePopup(site) {
    var box = el("div");
    box.appendChild(siteLink(site.id, nameOf(site)));
    var other = otherName(site);
    if (other) box.appendChild(el("div", other, "meta"));
    return box;
  }

  function fit(map, latlngs, maxZoom) {
    if (latlngs.length === 1) map.setView(latlngs[0], maxZoom || 12);
    else if (latlngs.length > 1) map.fitBounds(L.latLngBounds(latlngs), { padding: [24, 24], maxZoom: maxZoom || 13 });
  }

  /* ---------------------------------------------------------------- sites map (list and site page) */
  function sitesMap() {
    var container = document.getElementById("sites-map");
    var data = readJSON("sites-data");
    if (!container || !data) return;
    var map = makeMap(container);
    var points = [];
    (data.sites || []).forEach(function (site) {
      /* An approximate point is drawn as a hollow, dashed pin (and on a site's own page, its circle). */
      var marker = L.marker([site.lat, site.lon], { icon: pinIcon(site.category, site.approximate ? "approximate" : ""),
                                                    title: nameOf(site), alt: nameOf(site), keyboard: true });
      marker.bindPopup(sitePopup(site));
      marker.addTo(map);
      if (site.approximate && site.precision_m) {
        L.circle([site.lat, site.lon], { radius: site.precision_m, weight: 2, dashArray: "6 6", fillOpacity: 0.06,
                                         className: "approx-area" }).addTo(map);
      }
      points.push([site.lat, site.lon]);
    });
    fit(map, points, container.dataset.zoom ? parseInt(container.dataset.zoom, 10) : 11);
  }

  /* ---------------------------------------------------------------- planner page */
  function plannerPage() {
    var container = document.getElementById("planner-map");
    var data = readJSON("sites-data");
    var must = document.getElementById("must");
    if (!container || !data || !must) return;
    var map = makeMap(container);
    var markers = {};
    var chosen = document.getElementById("must-chosen");

    function isPicked(id) {
      for (var i = 0; i < must.options.length; i++) {
        if (must.options[i].value === id) return must.options[i].selected;
      }
      return false;
    }
    function refresh() {
      var names = [];
      for (var i = 0; i < must.options.length; i++) {
        var option = must.options[i];
        var marker = markers[option.value];
        if (marker && marker._icon) marker._icon.classList.toggle("picked", option.selected);
        if (option.selected) names.push(option.textContent);
      }
      if (chosen) chosen.textContent = (strings.selected_must || "") + (names.length ? names.join("、") : strings.none_selected || "");
    }
    function toggle(id) {
      for (var i = 0; i < must.options.length; i++) {
        if (must.options[i].value === id) must.options[i].selected = !must.options[i].selected;
      }
      refresh();
    }
    var points = [];
    (data.sites || []).forEach(function (site) {
      var marker = L.marker([site.lat, site.lon], { icon: pinIcon(site.category), title: nameOf(site),
                                                    alt: nameOf(site), keyboard: true });
      marker.on("click", function () { toggle(site.id); });
      marker.on("keypress", function (e) {  // keyboard users: Enter on a focused marker picks it too
        if (e.originalEvent && (e.originalEvent.key === "Enter" || e.originalEvent.keyCode === 13)) toggle(site.id);
      });
      marker.addTo(map);
      markers[site.id] = marker;
      points.push([site.lat, site.lon]);
    });
    must.addEventListener("change", refresh);
    fit(map, points, 9);
    refresh();
    var form = document.getElementById("plan-form");
    if (form) form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; button.textContent = strings.planning || "…"; }
    });
  }

  /* ---------------------------------------------------------------- itinerary page */
  function numberIcon(number, day) {
    var span = el("span", number);
    return L.divIcon({ className: "stop-marker day-color-" + (day % DAY_COLOURS.length), html: span,
                       iconSize: [28, 28], iconAnchor: [14, 14], popupAnchor: [0, -12] });
  }

  function itineraryPage() {
    var container = document.getElementById("itinerary-map");
    var data = readJSON("itinerary-data");
    if (!container || !data) return;
    var map = makeMap(container);
    var all = [];
    var placesShown = {};
    (data.days || []).forEach(function (day, d) {
      var colour = DAY_COLOURS[d % DAY_COLOURS.length];
      var line = [[day.start.lat, day.start.lon]];
      [day.start, day.end].forEach(function (place, i) {
        var key = place.lat + "," + place.lon;
        if (placesShown[key]) return;
        placesShown[key] = true;
        var label = (i === 0 && d === 0 ? strings.leave : (d === data.days.length - 1 && i === 1 ? strings.arrive_end : strings.overnight)) + " " + nameOf(place);
        L.marker([place.lat, place.lon], {
          icon: L.divIcon({ className: "place-pin", iconSize: [14, 14], iconAnchor: [7, 7] }), title: label, alt: label
        }).bindPopup(el("div", label)).addTo(map);
      });
      day.stops.forEach(function (stop) {
        line.push([stop.lat, stop.lon]);
        var box = el("div");
        var title = el("strong", stop.number + ". ");
        if (stop.listed) title.appendChild(siteLink(stop.site_id, nameOf(stop)));
        else title.appendChild(document.createTextNode(nameOf(stop)));
        box.appendChild(title);
        box.appendChild(el("div", config.dayLabel.replace("{n}", d + 1) + " · " + stop.time, "meta"));
        if (stop.approximate) {
          /* An estimated point gets no exact pin: a dashed circle as wide as the uncertainty, numbered. */
          box.appendChild(el("div", strings.approximate_short || "", "meta"));
          L.circle([stop.lat, stop.lon], { radius: Math.max(stop.precision_m || 0, 1000), color: colour, weight: 2,
                                           dashArray: "6 6", fillOpacity: 0.08, className: "approx-area" })
            .bindTooltip(el("span", stop.number), { permanent: true, direction: "center", className: "approx-number" })
            .bindPopup(box).addTo(map);
        } else {
          L.marker([stop.lat, stop.lon], { icon: numberIcon(stop.number, d), title: stop.number + ". " + nameOf(stop),
                                           alt: stop.number + ". " + nameOf(stop), zIndexOffset: 1000 })
            .bindPopup(box).addTo(map);
        }
      });
      line.push([day.end.lat, day.end.lon]);
      L.polyline(line, { color: colour, weight: 4, opacity: 0.85, className: "day-route day-route-" + (d + 1) })
        .addTo(map);
      all = all.concat(line);
    });
    fit(map, all, 12);
  }

  /* ---------------------------------------------------------------- curator: click the map to set coordinates */
  function pickMap() {
    var container = document.getElementById("pick-map");
    var lat = document.getElementById("field-lat");
    var lon = document.getElementById("field-lon");
    if (!container || !lat || !lon) return;
    var map = makeMap(container);
    var marker = null;
    function place(latlng, pan) {
      if (!marker) {
        marker = L.marker(latlng, { icon: L.divIcon({ className: "click-pin", iconSize: [16, 16], iconAnchor: [8, 8] }),
                                    title: "lat, lon", keyboard: false }).addTo(map);
      } else marker.setLatLng(latlng);
      if (pan) map.setView(latlng, Math.max(map.getZoom(), 11));
    }
    function fromInputs(pan) {
      var a = parseFloat(lat.value), b = parseFloat(lon.value);
      if (isFinite(a) && isFinite(b) && Math.abs(a) <= 90 && Math.abs(b) <= 180) place([a, b], pan);
    }
    map.on("click", function (e) {
      lat.value = e.latlng.lat.toFixed(6);
      lon.value = e.latlng.lng.toFixed(6);
      place(e.latlng, false);
      container.dataset.clicked = "1";
    });
    lat.addEventListener("change", function () { fromInputs(true); });
    lon.addEventListener("change", function () { fromInputs(true); });
    fromInputs(true);
  }

  /* ---------------------------------------------------------------- type-ahead for places */
  function typeahead() {
    var inputs = document.querySelectorAll("input[data-typeahead]");
    Array.prototype.forEach.call(inputs, function (input) {
      var list = document.getElementById(input.getAttribute("list"));
      if (!list) return;
      var timer = null, last = "";
      input.addEventListener("input", function () {
        var text = input.value.trim();
        if (timer) clearTimeout(timer);
        if (!text || text === last || /^-?\d/.test(text)) return;
        timer = setTimeout(function () {
          last = text;
          fetch("/api/places?limit=8&lang=" + encodeURIComponent(config.lang || "zh") + "&q=" + encodeURIComponent(text))
            .then(function (r) { return r.ok ? r.json() : { places: [] }; })
            .then(function (body) {
              while (list.firstChild) list.removeChild(list.firstChild);
              (body.places || []).forEach(function (place) {
                var option = document.createElement("option");
                option.value = nameOf(place);
                option.label = otherName(place);
                list.appendChild(option);
              });
            })
            .catch(function () { /* offline: the server still resolves whatever was typed */ });
        }, 180);
      });
    });
  }

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(function () {
    if (typeof L === "undefined") return;
    sitesMap();
    plannerPage();
    itineraryPage();
    pickMap();
  });
  ready(typeahead);
})();
