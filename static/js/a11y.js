/* Version for the visually impaired (GOST R 52872-2019): large type, contrast schemes,
   images off, wider spacing. Loaded in <head> without defer so the chosen settings apply
   before the first paint; remembered in localStorage, so every page (cached ones too) is
   the same for every visitor and only this script adapts it. */
(function () {
  "use strict";
  var KEY = "portal-a11y";
  var OPTIONS = { size: ["0", "1", "2", "3"], color: ["default", "bw", "inverse", "blue"], images: ["on", "off"], spacing: ["normal", "wide"] };
  var DEFAULTS = { size: "0", color: "default", images: "on", spacing: "normal" };
  var root = document.documentElement;

  function load() {
    var stored = {};
    try { stored = JSON.parse(window.localStorage.getItem(KEY) || "{}") || {}; } catch (e) { stored = {}; }
    var settings = {};
    Object.keys(DEFAULTS).forEach(function (name) {
      settings[name] = OPTIONS[name].indexOf(stored[name]) >= 0 ? stored[name] : DEFAULTS[name];
    });
    return settings;
  }

  function isDefault(settings) {
    return Object.keys(DEFAULTS).every(function (name) { return settings[name] === DEFAULTS[name]; });
  }

  function apply(settings) {
    var classes = root.className.split(/\s+/).filter(function (c) { return c && c.indexOf("a11y-") !== 0; });
    if (!isDefault(settings)) {
      classes.push("a11y-on", "a11y-size-" + settings.size, "a11y-color-" + settings.color, "a11y-images-" + settings.images, "a11y-spacing-" + settings.spacing);
    }
    root.className = classes.join(" ");
  }

  function save(settings) {
    try { window.localStorage.setItem(KEY, JSON.stringify(settings)); } catch (e) { /* private mode: this page only */ }
  }

  var current = load();
  apply(current);

  function showAltTexts() {
    // With images off, each image's text equivalent takes its place.
    Array.prototype.forEach.call(document.querySelectorAll("main img[alt]"), function (img) {
      if (!img.alt || (img.nextSibling && img.nextSibling.className === "a11y-alt")) { return; }
      var text = document.createElement("span");
      text.className = "a11y-alt";
      text.textContent = img.alt;
      img.parentNode.insertBefore(text, img.nextSibling);
    });
  }

  function wire() {
    var box = document.querySelector("[data-a11y]");
    if (!box) { return; }
    var toggle = box.querySelector("[data-a11y-toggle]");
    var panel = box.querySelector("[data-a11y-panel]");
    box.hidden = false;
    showAltTexts();

    function refresh() {
      Array.prototype.forEach.call(panel.querySelectorAll("[data-a11y-set]"), function (button) {
        button.setAttribute("aria-pressed", String(current[button.dataset.a11ySet] === button.dataset.value));
      });
    }

    toggle.addEventListener("click", function () {
      var open = panel.hidden;
      panel.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
    });
    panel.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) { return; }
      if (button.hasAttribute("data-a11y-reset")) {
        current = Object.assign({}, DEFAULTS);
      } else if (button.dataset.a11ySet) {
        current[button.dataset.a11ySet] = button.dataset.value;
      } else { return; }
      save(current);
      apply(current);
      refresh();
    });
    refresh();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", wire); } else { wire(); }
}());
