// The waiting room (portal/shedding.py) tries the page again after Retry-After seconds.
// Self-updating content must be possible to stop: the [data-pause-control] button does.
// The retry is a GET of the same address: a shed ballot was not saved and is not re-posted.
(function () {
  "use strict";
  var room = document.querySelector("[data-retry-after]");
  if (!room) return;
  var left = parseInt(room.getAttribute("data-retry-after"), 10) || 10;
  var countdown = room.querySelector("[data-countdown]");
  var seconds = room.querySelector("[data-seconds]");
  var control = room.querySelector("[data-pause-control]");
  var now = room.querySelector("[data-retry-now]");
  var paused = false;
  now.href = window.location.href;
  countdown.hidden = false;
  control.hidden = false;
  control.addEventListener("click", function () {
    paused = !paused;
    control.setAttribute("aria-pressed", paused ? "true" : "false");
    control.textContent = control.getAttribute(paused ? "data-label-resume" : "data-label-stop");
    countdown.hidden = paused;
  });
  var timer = window.setInterval(function () {
    if (paused) return;
    left -= 1;
    seconds.textContent = String(Math.max(left, 0));
    if (left <= 0) {
      window.clearInterval(timer);
      window.location.replace(window.location.href);
    }
  }, 1000);
})();
