// The watch page's progress bar: ask GET /reports/{id} every 300 ms until the report is done.
// A file of the app, not inline: the page's Content-Security-Policy runs no inline script.
"use strict";

const POLL_MS = 300;
const DONE = new Set(["complete", "failed"]);

function show(report) {
  const bar = document.getElementById("bar");
  const status = document.getElementById("status");
  const percent = document.getElementById("percent");
  const detail = document.getElementById("detail");
  status.textContent = report.status;
  status.className = report.status;
  if (report.status === "complete") {
    bar.value = 100;
  } else if (report.progress && report.progress.percent !== null) {
    // Progress is the task's last word: it never goes back, so neither does the bar.
    bar.value = Math.max(bar.value, report.progress.percent);
  }
  percent.textContent = report.status === "processing" ? `${bar.value}%` : "";
  if (report.status === "failed") {
    detail.textContent = report.error || "failed";
  } else if (report.status === "complete") {
    const result = report.result || {};
    detail.textContent = `done: ${result.count} values, mean ${result.mean}`;
  }
}

async function poll(url) {
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const report = await response.json();
    show(report);
    if (DONE.has(report.status)) return;
  } catch (error) {
    // The API restarted, the network blinked: say so and keep asking.
    document.getElementById("detail").textContent = `cannot reach the API (${error.message}), retrying`;
  }
  setTimeout(() => poll(url), POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  poll(document.getElementById("watch").dataset.statusUrl);
});
