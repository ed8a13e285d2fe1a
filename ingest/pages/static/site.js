// Draws every chart of the page with plotly.js (assets/plotly.min.js, shipped with the site).
// Each chart is a <div> followed by its figure as JSON in <script type="application/json">.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("script.chart-spec").forEach(function (node) {
    var spec = JSON.parse(node.textContent);
    var target = document.getElementById(node.dataset.target);
    Plotly.newPlot(target, spec.data, spec.layout,
                   {displaylogo: false, displayModeBar: false, responsive: true});
  });
});
