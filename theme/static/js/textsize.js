/* 大字版 (larger text for older readers): a toggle remembered on this device. No inline script. */
(function () {
  var KEY = "xyyc-large-text";
  var root = document.documentElement;
  function apply(on) {
    root.classList.toggle("large-text", on);
    var button = document.getElementById("text-size");
    if (button) {
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = on ? "标准字号" : "大字版";
    }
  }
  var stored = false;
  try { stored = window.localStorage.getItem(KEY) === "1"; } catch (e) { /* storage blocked */ }
  apply(stored);
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("text-size");
    if (!button) return;
    button.hidden = false;
    apply(root.classList.contains("large-text"));
    button.addEventListener("click", function () {
      var on = !root.classList.contains("large-text");
      apply(on);
      try { window.localStorage.setItem(KEY, on ? "1" : "0"); } catch (e) { /* ignore */ }
    });
  });
})();
