// minireg report: draws the charts with vega-embed and makes the audit table sortable and
// filterable. Registry text only ever reaches the page through textContent and Vega's data.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("minireg-data").textContent);
  var views = {};
  var embedOptions = { renderer: "svg", actions: false, ast: true };

  function embed(kind, index, spec) {
    var target = document.getElementById(kind + "-" + index);
    return vegaEmbed(target, spec, embedOptions).then(function (result) {
      views[kind + "-" + index] = result.view;
    });
  }

  function charts() {
    var pending = [];
    data.charts.forEach(function (chart, index) {
      pending.push(embed("timeline", index, chart.timeline));
      if (chart.metrics) {
        pending.push(embed("metrics", index, chart.metrics));
      }
    });
    document.querySelectorAll("select.metric").forEach(function (select) {
      select.addEventListener("change", function () {
        var view = views["metrics-" + select.getAttribute("data-chart")];
        if (view) {
          view.signal("metric", select.value).runAsync().then(function () {
            select.setAttribute("data-shown", select.value);
          });
        }
      });
    });
    return Promise.all(pending);
  }

  function compare(a, b) {
    if (a === b) return 0;
    if (a === null || a === "") return 1;
    if (b === null || b === "") return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b));
  }

  function auditTable() {
    var table = document.getElementById("audit-table");
    var body = table.tBodies[0];
    var filter = document.getElementById("audit-filter");
    var count = document.getElementById("audit-count");
    var rows = data.audit.rows.map(function (cells) {
      var tr = document.createElement("tr");
      cells.forEach(function (cell) {
        var td = document.createElement("td");
        td.textContent = cell === null ? "" : String(cell);
        tr.appendChild(td);
      });
      return { cells: cells, tr: tr, text: cells.join("\u0000").toLowerCase() };
    });
    var sorted = { column: 0, descending: false };

    function show() {
      var query = filter.value.trim().toLowerCase();
      var fragment = document.createDocumentFragment();
      var shown = 0;
      rows.forEach(function (row) {
        row.tr.hidden = query !== "" && row.text.indexOf(query) < 0;
        if (!row.tr.hidden) shown += 1;
        fragment.appendChild(row.tr);
      });
      body.appendChild(fragment);
      count.textContent = shown + " of " + rows.length + " events";
    }

    function sortBy(column) {
      var descending = sorted.column === column ? !sorted.descending : false;
      sorted = { column: column, descending: descending };
      rows.sort(function (a, b) {
        var order = compare(a.cells[column], b.cells[column]);
        if (order === 0) order = a.cells[0] - b.cells[0];
        return descending ? -order : order;
      });
      table.querySelectorAll("th").forEach(function (th, i) {
        th.setAttribute("aria-sort", i === column ? (descending ? "descending" : "ascending") : "none");
      });
      show();
    }

    table.querySelectorAll("th button").forEach(function (button) {
      button.addEventListener("click", function () {
        sortBy(Number(button.getAttribute("data-column")));
      });
    });
    filter.addEventListener("input", show);
    show();
  }

  window.minireg = { views: views };
  auditTable();
  charts().then(
    function () {
      document.body.setAttribute("data-ready", "yes");
    },
    function (error) {
      document.body.setAttribute("data-ready", "failed");
      console.error(error);
    }
  );
})();
