// The progress page: asks the API for the caller's day rows and streaks
// every few seconds and draws them. Plain JavaScript, no build step; the
// token lives in this tab's sessionStorage only.
"use strict";

(function () {
  const POLL_MS = 5000;
  const WEEKS = 12;
  const DAYS = WEEKS * 7;
  const TREND_DAYS = 60;
  const KEY = "dailyprogress.token";

  const form = document.getElementById("token-form");
  const input = document.getElementById("token");
  const forgetButton = document.getElementById("forget");
  const main = document.getElementById("main");
  const errorBox = document.getElementById("error");
  const statusBox = document.getElementById("status");
  const heatmap = document.getElementById("heatmap");
  const detail = document.getElementById("heatmap-detail");

  let token = null;
  let timer = null;
  // Bumped on every new token, so answers for an old one are dropped.
  let generation = 0;
  let shownUpdate = null;
  let chart = null;

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path) {
    const response = await fetch(path, {
      headers: {
        Authorization: "Token " + token,
        Accept: "application/json",
      },
      cache: "no-store",
    });
    let body = null;
    try {
      body = await response.json();
    } catch (ignored) {
      body = null;
    }
    if (!response.ok) {
      const message = (body && body.error) || response.statusText;
      throw new ApiError(response.status, message);
    }
    return body;
  }

  // Numbers as the API gives them: at most 2 decimals, no trailing zeros.
  function number(value) {
    if (value === null || value === undefined) return "–";
    return Number(value).toFixed(2).replace(/\.?0+$/, "");
  }

  function dayLabel(isoDate, options) {
    const day = new Date(isoDate + "T00:00:00Z");
    return day.toLocaleDateString("en-GB", { timeZone: "UTC", ...options });
  }

  function setField(name, text) {
    for (const element of main.querySelectorAll(`[data-field="${name}"]`)) {
      element.textContent = text;
    }
    for (const unit of main.querySelectorAll(`[data-days-of="${name}"]`)) {
      unit.textContent = text === "1" ? "day" : "days";
    }
  }

  function showError(message) {
    if (errorBox.textContent !== message) errorBox.textContent = message;
  }

  function announce(message) {
    if (statusBox.textContent !== message) statusBox.textContent = message;
  }

  // --- Today's counters, engagement and rank -----------------------------

  const COUNTERS = [
    "actions_total", "actions_completed", "actions_snoozed",
    "actions_dismissed", "customactions_total", "customactions_completed",
    "customactions_snoozed", "customactions_dismissed", "checkin_streak",
  ];
  const PERCENTS = [
    "engagement_15_days", "engagement_30_days", "engagement_60_days",
    "engagement_rank",
  ];

  function renderToday(row, today) {
    const checkins = row ? Object.keys(row.goal_status).length : 0;
    for (const name of COUNTERS) {
      setField(name, row ? String(row[name]) : "0");
    }
    for (const name of PERCENTS) {
      setField(name, row ? number(row[name]) : "–");
    }
    setField("checkins", String(checkins));

    const note = document.getElementById("today-note");
    const title = document.getElementById("today-title");
    if (!row) {
      title.textContent = "Today";
      note.textContent = "Nothing recorded yet.";
    } else if (row.date === today) {
      title.textContent = "Today, " + dayLabel(row.date, {
        weekday: "long", day: "numeric", month: "long",
      });
      note.textContent = "";
    } else {
      title.textContent = "Latest day, " + dayLabel(row.date, {
        weekday: "long", day: "numeric", month: "long",
      });
      note.textContent = "Nothing reported yet today.";
    }
  }

  // --- The streak heatmap: a grid, a column per week ---------------------

  function level(count, most) {
    if (count <= 0) return 0;
    return Math.min(4, Math.ceil((4 * count) / Math.max(most, 4)));
  }

  function cellLabel(day) {
    const when = dayLabel(day.date, {
      weekday: "long", day: "numeric", month: "long", year: "numeric",
    });
    const what = day.count === 1 ? "1 completed" : `${day.count} completed`;
    return `${when}: ${what}`;
  }

  function buildHeatmap() {
    const head = heatmap.createTHead().insertRow();
    head.appendChild(document.createElement("td"));
    for (let week = 0; week < WEEKS; week++) {
      const th = document.createElement("th");
      th.scope = "col";
      head.appendChild(th);
    }
    const body = heatmap.createTBody();
    for (let weekday = 0; weekday < 7; weekday++) {
      const tr = body.insertRow();
      const th = document.createElement("th");
      th.scope = "row";
      tr.appendChild(th);
      for (let week = 0; week < WEEKS; week++) {
        const td = tr.insertCell();
        td.tabIndex = -1;
        td.dataset.index = String(week * 7 + weekday);
      }
    }
    heatmap.addEventListener("keydown", moveInHeatmap);
    heatmap.addEventListener("focusin", (event) => showDetail(event.target));
    heatmap.addEventListener("mouseover", (event) => showDetail(event.target));
  }

  function cellAt(index) {
    return heatmap.querySelector(`td[data-index="${index}"]`);
  }

  function showDetail(cell) {
    if (cell && cell.dataset && cell.dataset.date) {
      detail.textContent = cell.getAttribute("aria-label");
    }
  }

  function moveInHeatmap(event) {
    const steps = { ArrowUp: -1, ArrowDown: 1, ArrowLeft: -7, ArrowRight: 7 };
    const current = Number(event.target.dataset.index);
    let next;
    if (event.key in steps) next = current + steps[event.key];
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = DAYS - 1;
    else return;
    event.preventDefault();
    if (Number.isNaN(current) || next < 0 || next >= DAYS) return;
    focusCell(cellAt(next));
  }

  function focusCell(cell) {
    for (const other of heatmap.querySelectorAll("td[tabindex='0']")) {
      other.tabIndex = -1;
    }
    cell.tabIndex = 0;
    cell.focus();
  }

  function renderHeatmap(days) {
    if (!heatmap.tBodies.length) buildHeatmap();
    const most = Math.max(0, ...days.map((day) => day.count));
    const heads = heatmap.tHead.rows[0].cells;
    const rows = heatmap.tBodies[0].rows;

    for (let weekday = 0; weekday < 7; weekday++) {
      const name = days[weekday].day;
      const th = rows[weekday].cells[0];
      th.textContent = name.slice(0, 3);
      th.title = name;
    }
    let month = null;
    for (let week = 0; week < WEEKS; week++) {
      const first = days[week * 7].date;
      const label = dayLabel(first, { month: "short" });
      heads[week + 1].textContent = label === month ? "" : label;
      heads[week + 1].setAttribute(
        "aria-label", "Week of " + dayLabel(first, {
          day: "numeric", month: "long",
        }));
      month = label;
    }
    days.forEach((day, index) => {
      const cell = cellAt(index);
      const text = cellLabel(day);
      cell.dataset.date = day.date;
      cell.dataset.count = String(day.count);
      cell.className = "level-" + level(day.count, most);
      cell.title = text;
      cell.setAttribute("aria-label", text);
    });
    if (!heatmap.querySelector("td[tabindex='0']")) {
      cellAt(DAYS - 1).tabIndex = 0;
    }
    const focused = heatmap.contains(document.activeElement)
      ? document.activeElement : cellAt(DAYS - 1);
    showDetail(focused);
  }

  // --- The engagement trend ---------------------------------------------

  function renderTrend(rows) {
    const days = rows.slice().reverse();
    const labels = days.map((row) => dayLabel(row.date, {
      day: "numeric", month: "short",
    }));
    const values = days.map((row) => row.engagement_15_days);

    const canvas = document.getElementById("trend");
    if (days.length) {
      const first = days[0];
      const last = days[days.length - 1];
      canvas.setAttribute("aria-label",
        `15-day engagement over ${days.length} days: ` +
        `${number(first.engagement_15_days)}% on ${labels[0]}, ` +
        `${number(last.engagement_15_days)}% on ${labels[labels.length - 1]}`);
    }

    const body = document.querySelector("#trend-table tbody");
    body.replaceChildren(...days.slice().reverse().map((row) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = row.date;
      const td = document.createElement("td");
      td.textContent = number(row.engagement_15_days) + "%";
      tr.append(th, td);
      return tr;
    }));

    if (!window.Chart) {
      document.querySelector("#trend-title + .chart").hidden = true;
      return;
    }
    if (!chart) {
      chart = new window.Chart(canvas, {
        type: "line",
        data: {
          labels,
          datasets: [{
            label: "15-day engagement",
            data: values,
            borderColor: "#1d4ed8",
            backgroundColor: "rgba(29, 78, 216, 0.12)",
            fill: true,
            cubicInterpolationMode: "monotone",
            pointRadius: 2.5,
            pointHoverRadius: 5,
          }],
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          interaction: { mode: "index", intersect: false },
          plugins: {
            legend: { display: false },
            tooltip: {
              callbacks: { label: (item) => `${number(item.parsed.y)}%` },
            },
          },
          scales: {
            y: {
              min: 0,
              max: 100,
              ticks: { callback: (value) => value + "%", stepSize: 25 },
            },
            x: {
              ticks: { maxTicksLimit: 6, maxRotation: 0, autoSkip: true },
              grid: { display: false },
            },
          },
        },
      });
      return;
    }
    chart.data.labels = labels;
    chart.data.datasets[0].data = values;
    chart.update("none");
  }

  // --- Loading, polling, the token ---------------------------------------

  function render(rows, streaks) {
    const days = streaks.results;
    const today = days[days.length - 1];
    // Today's row; after a move west across the date line, a newer row
    // can be ahead of it.
    const row = rows.find((r) => r.date === today.date) || rows[0] || null;
    // Shown first, so that the chart measures its real size.
    const wasHidden = main.hidden;
    main.hidden = false;

    renderToday(row, today.date);
    setField("current_streak", String(streaks.current_streak));
    setField("today_count", String(today.count));
    renderHeatmap(days);
    renderTrend(rows);

    document.getElementById("updated").textContent =
      new Date().toLocaleTimeString("en-GB");
    const update = row ? `${row.id}@${row.updated_on}` : "none";
    if (wasHidden) {
      announce("Showing your progress.");
    } else if (update !== shownUpdate) {
      announce(`Updated: ${today.count} completed today.`);
    }
    shownUpdate = update;
  }

  async function refresh() {
    const mine = generation;
    try {
      const [page, streaks] = await Promise.all([
        api(`/api/users/progress/?page_size=${TREND_DAYS}`),
        api(`/api/users/progress/streaks/?days=${DAYS}`),
      ]);
      if (mine !== generation) return;
      render(page.results, streaks);
      showError("");
    } catch (error) {
      if (mine !== generation) return;
      if (error.status === 401) {
        const first = main.hidden;
        forget();
        showError("That token was not accepted. Check it and paste it " +
          "again.");
        if (first) input.focus();
        return;
      }
      const why = error instanceof ApiError
        ? `the service answered ${error.status}: ${error.message}`
        : "the service cannot be reached";
      showError(`Could not update your progress (${why}). Trying again ` +
        `in ${POLL_MS / 1000} seconds.`);
    }
    timer = window.setTimeout(refresh, POLL_MS);
  }

  function start(value) {
    token = value;
    generation += 1;
    window.clearTimeout(timer);
    forgetButton.hidden = false;
    showError("");
    announce("Loading your progress…");
    refresh();
  }

  function forget() {
    sessionStorage.removeItem(KEY);
    token = null;
    generation += 1;
    window.clearTimeout(timer);
    main.hidden = true;
    forgetButton.hidden = true;
    shownUpdate = null;
    announce("");
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = input.value.trim().replace(/^token\s+/i, "");
    if (!value) {
      showError("Paste your token first.");
      input.focus();
      return;
    }
    sessionStorage.setItem(KEY, value);
    input.value = "";
    start(value);
  });

  forgetButton.addEventListener("click", () => {
    forget();
    showError("");
    announce("The token is forgotten.");
    input.focus();
  });

  const stored = sessionStorage.getItem(KEY);
  if (stored) start(stored);
})();
