// Draws every chart of the page with plotly.js (assets/plotly.min.js, shipped with the site).
// Each chart is a <div> followed by its figure as JSON in <script type="application/json">.
// Charts take their card's width (autosize, redrawn when it changes); on a phone the legend
// goes under the plot (never over the title) and long category labels are shortened so the
// plot keeps room (the full label stays in the hover text).
var PHONE = 600;

function shorten(label) {
  label = String(label);
  return label.length > 26 ? label.slice(0, 25) + "…" : label;
}

function forPhone(spec) {
  var layout = spec.layout;
  layout.margin = Object.assign({}, layout.margin, {l: 4});
  if (layout.title && layout.title.font) { layout.title.font.size = 13; }
  if (layout.showlegend !== false) {
    layout.legend = Object.assign({}, layout.legend,
                                  {orientation: "h", x: 0, xanchor: "left", y: -0.12,
                                   yanchor: "top"});
    if (layout.xaxis) { layout.xaxis = Object.assign({}, layout.xaxis, {title: {text: ""}}); }
  }
  spec.data.forEach(function (trace) {
    if (trace.orientation === "h" && Array.isArray(trace.y)) {
      trace.hovertext = trace.y.slice();
      trace.y = trace.y.map(shorten);
      if (trace.hovertemplate) { trace.hovertemplate = trace.hovertemplate.split("%{y}").join("%{hovertext}"); }
    }
  });
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("script.chart-spec").forEach(function (node) {
    var spec = JSON.parse(node.textContent);
    var target = document.getElementById(node.dataset.target);
    spec.layout.autosize = true;
    delete spec.layout.width;
    if (target.clientWidth < PHONE) { forPhone(spec); }
    Plotly.newPlot(target, spec.data, spec.layout,
                   {displaylogo: false, displayModeBar: false, responsive: true});
  });
});
