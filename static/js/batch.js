// A batch of readiness sheets: the progress bar's width from data-progress (no inline styles under the CSP),
// on the page and on every fragment htmx swaps in while it polls.
(function () {
  "use strict";
  function apply(root) {
    var bars = (root.querySelectorAll ? root.querySelectorAll("[data-progress]") : []);
    for (var i = 0; i < bars.length; i++) {
      bars[i].style.width = Math.max(0, Math.min(100, Number(bars[i].getAttribute("data-progress")) || 0)) + "%";
    }
  }
  document.addEventListener("DOMContentLoaded", function () { apply(document); });
  document.addEventListener("htmx:load", function (event) { apply(event.target.parentNode || document); });
})();
