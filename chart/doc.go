// Package chart draws the time series behind an investigation's findings
// as PNG images (with gonum.org/v1/plot), for the alert's Slack thread and
// the terminal. Renderer satisfies investigate.ChartRenderer: it draws an
// investigate.Plot — the series, a dashed limit series or reference line,
// and a vertical marker where the alert fired — with the time of day on
// the x axis and values in the plot's unit (bytes in binary units, ratios
// as percentages, cores as millicores) on the y axis. It draws what it is
// given: the engine redacts every label before a plot reaches it.
//
// (Not to be confused with charts/, the Helm chart.)
package chart
