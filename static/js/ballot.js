// Ballot helpers: a live counter of choices, points left or the basket against the budget.
// The ballot works without this file; the server checks everything again.
(function () {
  "use strict";

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key] !== undefined ? values[key] : "";
    });
  }

  function rubles(amount) {
    return Math.round(amount).toLocaleString(document.documentElement.lang || "ru");
  }

  function setup(ballot) {
    var method = ballot.dataset.method;
    var max = parseInt(ballot.dataset.max, 10);
    var points = parseInt(ballot.dataset.points || "0", 10);
    var budget = parseFloat(ballot.dataset.budget || "0");
    var status = ballot.querySelector("[data-ballot-status]");
    var bar = ballot.querySelector("[data-budget-bar]");
    var fill = ballot.querySelector("[data-budget-fill]");
    var msg = ballot.dataset;

    function update() {
      var text = "";
      var over = false;
      if (method === "approval" || method === "knapsack" || method === "choose-1") {
        var checked = ballot.querySelectorAll("input[type=checkbox]:checked, input[type=radio]:checked");
        text = format(msg.msgChosen, { n: checked.length, max: max });
        if (checked.length > max) {
          text += " " + format(msg.msgTooMany, { max: max });
          over = true;
        }
        if (method === "knapsack" && budget > 0) {
          var spent = 0;
          checked.forEach(function (input) {
            spent += parseFloat(input.closest("[data-cost]").dataset.cost);
          });
          text += " " + format(msg.msgBudget, { spent: rubles(spent), budget: rubles(budget) });
          if (spent > budget) {
            text += " " + format(msg.msgBudgetOver, { over: rubles(spent - budget) });
            over = true;
          }
          bar.hidden = false;
          fill.style.width = Math.min(100, (100 * spent) / budget) + "%";
          bar.classList.toggle("over", spent > budget);
          bar.setAttribute("role", "meter");
          bar.setAttribute("aria-valuemin", "0");
          bar.setAttribute("aria-valuemax", String(budget));
          bar.setAttribute("aria-valuenow", String(spent));
          bar.setAttribute("aria-label", format(msg.msgBudget, { spent: rubles(spent), budget: rubles(budget) }));
        }
      } else if (method === "cumulative") {
        var given = 0;
        var chosen = 0;
        ballot.querySelectorAll("input.points-input").forEach(function (input) {
          var value = parseInt(input.value, 10);
          if (value > 0) {
            given += value;
            chosen += 1;
          }
        });
        text = format(msg.msgPoints, { left: Math.max(0, points - given), total: points });
        if (given > points) {
          text += " " + format(msg.msgPointsOver, { over: given - points });
          over = true;
        }
        if (chosen > max) {
          text += " " + format(msg.msgTooMany, { max: max });
          over = true;
        }
      } else if (method === "ordinal") {
        var seen = {};
        var ranked = 0;
        var twice = null;
        ballot.querySelectorAll("select.rank-select").forEach(function (select) {
          if (select.value) {
            ranked += 1;
            if (seen[select.value]) twice = select.value;
            seen[select.value] = true;
          }
        });
        text = format(msg.msgRanked, { n: ranked, max: max });
        if (twice) {
          text += " " + format(msg.msgRankTwice, { rank: twice });
          over = true;
        }
      }
      status.textContent = text;
      status.hidden = false;
      status.classList.toggle("over", over);
    }

    ballot.addEventListener("change", update);
    ballot.addEventListener("input", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-ballot]").forEach(setup);
  });
})();
