document.querySelectorAll("table.sortable thead tr:last-child th").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var desc = th.dataset.dir !== "desc"; th.dataset.dir = desc ? "desc" : "asc";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      // The Other row (the rows past the top N, summed) stays last.
      var ao = a.classList.contains("other"), bo = b.classList.contains("other"), r;
      if (ao !== bo) return ao ? 1 : -1;
      var x = a.cells[index].dataset.v, y = b.cells[index].dataset.v;
      var nx = parseFloat(x), ny = parseFloat(y);
      if (x === "" && y !== "") return 1; if (y === "" && x !== "") return -1;
      r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
      return desc ? -r : r;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
