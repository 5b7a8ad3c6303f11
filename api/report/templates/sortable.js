document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var desc = th.dataset.dir !== "desc"; th.dataset.dir = desc ? "desc" : "asc";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].dataset.v, y = b.cells[index].dataset.v;
      var nx = parseFloat(x), ny = parseFloat(y), r;
      if (x === "" && y !== "") return 1; if (y === "" && x !== "") return -1;
      r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
      return desc ? -r : r;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
