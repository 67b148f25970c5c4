// Miaopu's few behaviours, kept out of the HTML so the pages can run under a strict CSP.
(function () {
  "use strict";
  // <select data-autosubmit> submits its form when changed (language switch, filters without htmx).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });
  // <form data-confirm="..."> asks before submitting (archive, remove).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  }, true);
  // A saved view keeps the filters the page shows now (htmx may have changed them since it loaded).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-saved-view]")) {
      form.querySelector("input[name=query]").value = window.location.search.replace(/^\?/, "");
    }
  }, true);
  // htmx swaps a refused form (422: it comes back with its errors) like a success.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();

// Check-in (crm.evidence): on submit, ask the browser for the position once (the user may refuse), put it in the
// form's hidden fields, then send. The server records the time itself; without a position the check-in still counts.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-geolocate]") || form.dataset.located === "1") {
      return;
    }
    if (!("geolocation" in navigator)) {
      return;  // send as it is
    }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    var sent = false;
    function send() {
      if (sent) { return; }
      sent = true;
      form.dataset.located = "1";
      if (button) { button.disabled = false; }
      form.requestSubmit ? form.requestSubmit() : form.submit();
    }
    var timer = window.setTimeout(send, 10000);
    navigator.geolocation.getCurrentPosition(function (position) {
      window.clearTimeout(timer);
      form.elements.latitude.value = position.coords.latitude.toFixed(6);
      form.elements.longitude.value = position.coords.longitude.toFixed(6);
      form.elements.accuracy.value = Math.round(position.coords.accuracy);
      send();
    }, function () {
      window.clearTimeout(timer);
      send();
    }, {enableHighAccuracy: true, timeout: 9000, maximumAge: 60000});
  });
})();
