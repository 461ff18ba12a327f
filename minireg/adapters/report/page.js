// minireg report: draws the charts with vega-embed and makes the audit table sortable and
// filterable. Registry text only ever reaches the page through textContent and Vega's data.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("minireg-data").textContent);
  var views = {};
  var embedOptions = { actions: false, ast: true };

  // Each dataset comes as {columns, rows}; Vega takes one object per row.
  function objects(table) {
    return table.rows.map(function (row) {
      var item = {};
      table.columns.forEach(function (column, i) {
        item[column] = row[i];
      });
      return item;
    });
  }

  function embed(kind, index, spec, datasets, renderer) {
    spec.datasets = datasets;
    var target = document.getElementById(kind + "-" + index);
    var options = Object.assign({ renderer: renderer }, embedOptions);
    return vegaEmbed(target, spec, options).then(function (result) {
      views[kind + "-" + index] = result.view;
    });
  }

  function charts() {
    var pending = [];
    data.charts.forEach(function (chart, index) {
      var datasets = {
        bars: objects(chart.data.bars),
        marks: objects(chart.data.marks),
        points: objects(chart.data.points)
      };
      pending.push(embed("timeline", index, chart.timeline, datasets, chart.renderer));
      if (chart.metrics) {
        pending.push(embed("metrics", index, chart.metrics, datasets, chart.renderer));
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

  // The audit table: every event in the data, sorted and filtered in memory; only the first
  // rows that match are in the document (a page of a big trail stays quick), more on demand.
  var PAGE = 500;

  function auditTable() {
    var table = document.getElementById("audit-table");
    var body = table.tBodies[0];
    var filter = document.getElementById("audit-filter");
    var count = document.getElementById("audit-count");
    var more = document.getElementById("audit-more");
    var rows = data.audit.rows.map(function (cells) {
      return { cells: cells, tr: null, text: cells.join("\u0000").toLowerCase() };
    });
    var order = rows.slice();
    var sorted = { column: 0, descending: false };
    var limit = PAGE;

    function element(row) {
      if (row.tr === null) {
        row.tr = document.createElement("tr");
        row.cells.forEach(function (cell) {
          var td = document.createElement("td");
          td.textContent = cell === null ? "" : String(cell);
          row.tr.appendChild(td);
        });
      }
      return row.tr;
    }

    function show() {
      var query = filter.value.trim().toLowerCase();
      var matches = order.filter(function (row) {
        return query === "" || row.text.indexOf(query) >= 0;
      });
      var fragment = document.createDocumentFragment();
      matches.slice(0, limit).forEach(function (row) {
        fragment.appendChild(element(row));
      });
      body.replaceChildren(fragment);
      var left = matches.length - Math.min(limit, matches.length);
      count.textContent =
        matches.length + " of " + rows.length + " events" +
        (left > 0 ? " (the first " + limit + " shown)" : "");
      more.hidden = left <= 0;
      more.textContent = "Show " + Math.min(left, PAGE) + " more";
    }

    function sortBy(column) {
      var descending = sorted.column === column ? !sorted.descending : false;
      sorted = { column: column, descending: descending };
      order.sort(function (a, b) {
        var found = compare(a.cells[column], b.cells[column]);
        if (found === 0) found = a.cells[0] - b.cells[0];
        return descending ? -found : found;
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
    filter.addEventListener("input", function () {
      limit = PAGE;
      show();
    });
    more.addEventListener("click", function () {
      limit += PAGE;
      show();
    });
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
