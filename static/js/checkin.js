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
