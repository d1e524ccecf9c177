/* 信用报告 (an archive printed or saved as PDF): today's date in the running footer that every
   printed page repeats, filled when the page loads and again just before printing; and a print
   button. Without JavaScript the footer keeps a blank to fill in and the button stays hidden
   (the browser's own 打印 does the same). No inline script. */
(function () {
  function today() {
    var d = new Date();
    return d.getFullYear() + "年" + (d.getMonth() + 1) + "月" + d.getDate() + "日";
  }
  function fill() {
    var spans = document.querySelectorAll("[data-print-date]");
    for (var i = 0; i < spans.length; i++) spans[i].textContent = today();
  }
  function start() {
    fill();
    window.addEventListener("beforeprint", fill);
    var button = document.getElementById("print-report");
    if (!button || typeof window.print !== "function") return;
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
