// Lectern's page script: answers kept in this browser, practice-mode checking,
// answers.toml download, the lesson timer and the Run button. No framework, no network
// except `lectern serve`'s own endpoints on the same origin.
(function () {
  "use strict";
  var body = document.body;
  var course = body.dataset.course || "course";
  var lesson = body.dataset.lesson || null;
  var ui = JSON.parse((document.getElementById("lectern-ui") || { textContent: "{}" }).textContent);
  var storeKey = "lectern:" + course;

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; }
  }
  function save(state) {
    try { localStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* private mode: answers live only in the page */ }
  }
  function fresh() {
    var s = load();
    s.answers = s.answers || {};
    s.time = s.time || {};
    return s;
  }
  var state = fresh();
  // Every change re-reads what is stored first, so that two open pages (or a cleared
  // store) never write back stale answers.
  function update(change) {
    state = fresh();
    change(state);
    save(state);
  }

  function lessonAnswers(id, s) {
    s = s || state;
    var a = s.answers[id] = s.answers[id] || {};
    a.quiz = a.quiz || {};
    a.challenge = a.challenge || {};
    return a;
  }

  // ---- student id
  var student = document.getElementById("student-id");
  if (student) {
    student.value = state.student || "";
    student.addEventListener("input", function () { update(function (s) { s.student = student.value.trim(); }); });
  }

  // ---- the answer contract: the rules live in Rust (lectern_lesson::answer) and reach
  // the page as data — the folding table and the number grammar in #lectern-rules, each
  // quiz's key (folded phrases, patterns translated to JavaScript, the accepted range)
  // in the quiz's data attribute. This code only applies them, step for step as the grader does; a
  // differential test holds the two to the same verdicts.
  var rules = JSON.parse((document.getElementById("lectern-rules") || { textContent: "null" }).textContent);
  var folds = null, numberRe = null, superscriptRe = null, spaces = "";
  if (rules) {
    folds = Object.create(null);
    rules.folds.forEach(function (row) {
      Array.from(row[0]).forEach(function (c) { folds[c] = row[1]; });
      if (row[1] === " ") spaces = row[0] + " ";
    });
    numberRe = new RegExp(rules.number, "u");
    superscriptRe = new RegExp(rules.superscript, "u");
  }
  function isSpace(c) { return spaces.indexOf(c) >= 0; }
  // Trimmed of Unicode White_Space, as Rust's str::trim (JavaScript's trim differs).
  function trim(s) {
    var chars = Array.from(String(s)), a = 0, b = chars.length;
    while (a < b && isSpace(chars[a])) a++;
    while (b > a && isSpace(chars[b - 1])) b--;
    return chars.slice(a, b).join("");
  }
  // NFKC, lower case, the folding table, runs of spaces as one, trimmed.
  function fold(s) {
    var out = "", space = false;
    Array.from(String(s).normalize("NFKC").toLowerCase()).forEach(function (c) {
      var to = c in folds ? folds[c] : c;
      Array.from(to).forEach(function (d) {
        if (d === " ") { space = out.length > 0; return; }
        if (space) { out += " "; space = false; }
        out += d;
      });
    });
    return out;
  }
  // A numeric answer by the one grammar: { value } or { error: "unreadable" | "wrong_unit" }.
  function readNumber(text, unit) {
    if (superscriptRe.test(text)) return { error: "unreadable" };
    var m = numberRe.exec(fold(text));
    if (!m) return { error: "unreadable" };
    var g = m.groups, whole = (g.int || "").replace(/[, ]/g, ""), frac = g.frac || "", found = g.unit || "";
    if (!whole && !frac) return { error: "unreadable" };
    if (found && found !== unit) return { error: "wrong_unit" };
    var value = Number((g.sign || "") + (whole || "0") + "." + (frac || "0") + "e" + (g.exp || "0"));
    return isFinite(value) ? { value: value } : { error: "unreadable" };
  }
  function choiceShare(correct, chosen, policy) {
    var right = chosen.filter(function (c) { return correct.indexOf(c) >= 0; }).length;
    var wrong = chosen.length - right, multiple = correct.length > 1;
    if ((!multiple && chosen.length > 1) || !correct.length) return 0;
    if (right === correct.length && wrong === 0) return 1;
    return policy === "right-minus-wrong" && multiple ? Math.max(0, (right - wrong) / correct.length) : 0;
  }
  // "correct", "partly_correct", "incorrect", "unreadable" or "wrong_unit"; null for no answer.
  function verdict(key, value) {
    if (value === null) return null;
    if (key.kind === "choice") {
      var chosen = (Array.isArray(value) ? value : [value]).slice().sort();
      var share = choiceShare(key.correct, chosen, key.policy);
      return share === 1 ? "correct" : share > 0 ? "partly_correct" : "incorrect";
    }
    if (key.kind === "numeric") {
      var n = readNumber(value, key.unit);
      if (n.error) return n.error;
      return key.range.low <= n.value && n.value <= key.range.high ? "correct" : "incorrect";
    }
    var given = fold(value), written = trim(value);
    var ok = key.phrases.some(function (p) { return p === given; }) ||
      key.patterns.some(function (r) { var re = new RegExp(r, "u"); return re.test(given) || re.test(written); });
    return ok ? "correct" : "incorrect";
  }
  window.lecternVerdict = verdict;

  // ---- quizzes: restore, save, check
  function quizValue(section) {
    var input = section.dataset.input;
    if (input === "single") {
      var checked = section.querySelector("input:checked");
      return checked ? checked.value : null;
    }
    if (input === "multiple") {
      var values = [];
      section.querySelectorAll("input:checked").forEach(function (el) { values.push(el.value); });
      return values.length ? values : null;
    }
    // Text and numeric answers are kept as typed: the grader reads them by the same rules.
    var text = trim(section.querySelector("input[type=text]").value);
    return text ? text : null;
  }
  function restoreQuiz(section, value) {
    if (value === undefined || value === null) return;
    var input = section.dataset.input;
    if (input === "single" || input === "multiple") {
      var values = Array.isArray(value) ? value : [value];
      section.querySelectorAll("input").forEach(function (el) { el.checked = values.indexOf(el.value) >= 0; });
    } else {
      section.querySelector("input[type=text]").value = String(value);
    }
  }
  document.querySelectorAll(".quiz").forEach(function (section) {
    var id = section.dataset.quiz;
    if (lesson) restoreQuiz(section, lessonAnswers(lesson).quiz[id]);
    section.addEventListener("input", function () {
      if (!lesson) return;
      var value = quizValue(section);
      update(function (s) {
        var answers = lessonAnswers(lesson, s).quiz;
        if (value === null) delete answers[id]; else answers[id] = value;
      });
    });
    var button = section.querySelector("button.check");
    if (!button || !section.dataset.key || !rules) return;
    var key = JSON.parse(section.dataset.key);
    button.addEventListener("click", function () {
      var result = verdict(key, quizValue(section));
      var feedback = section.querySelector(".feedback");
      feedback.className = "feedback " + (result === "correct" ? "correct" : "incorrect");
      feedback.dataset.verdict = result || "none";
      feedback.textContent = result ? ui[result] : ui[section.dataset.input === "multiple" ? "pick_many" : "pick_one"];
      var explanation = section.querySelector(".explanation");
      if (explanation && (result === "correct" || result === "partly_correct" || result === "incorrect")) explanation.hidden = false;
    });
  });

  // ---- challenge steps
  document.querySelectorAll(".challenge").forEach(function (section) {
    var cid = section.dataset.challenge;
    section.querySelectorAll(".step").forEach(function (step) {
      var sid = step.dataset.step;
      var area = step.querySelector("textarea");
      if (!area || !lesson) return;
      var stored = (lessonAnswers(lesson).challenge[cid] || {})[sid];
      if (stored) area.value = stored;
      area.addEventListener("input", function () {
        update(function (s) {
          var c = lessonAnswers(lesson, s).challenge;
          c[cid] = c[cid] || {};
          if (area.value.trim()) c[cid][sid] = area.value; else delete c[cid][sid];
        });
      });
    });
  });

  // ---- answers.toml (SPEC §5)
  function tomlKey(k) { return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k); }
  // A TOML basic string: JSON's escapes are TOML's, except that TOML also forbids a raw
  // DEL and any escaped lone surrogate (written as U+FFFD, as a text field would).
  function tomlValue(v) {
    if (Array.isArray(v)) return "[" + v.map(tomlValue).join(", ") + "]";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) + ".0" : String(v);
    var s = String(v).replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/g, function (m, before) {
      return (before || "") + "\uFFFD";
    });
    return JSON.stringify(s).replace(/\u007f/g, "\\u007f");
  }
  function answersToml() {
    state = fresh();
    var out = "student = " + tomlValue(state.student || "") + "\n";
    Object.keys(state.answers).sort().forEach(function (lid) {
      var a = state.answers[lid];
      var quiz = a.quiz || {};
      var qids = Object.keys(quiz).sort();
      if (qids.length) {
        out += "\n[lessons." + tomlKey(lid) + ".quiz]\n";
        qids.forEach(function (q) { out += tomlKey(q) + " = " + tomlValue(quiz[q]) + "\n"; });
      }
      Object.keys(a.challenge || {}).sort().forEach(function (cid) {
        var steps = a.challenge[cid];
        var sids = Object.keys(steps).sort();
        if (!sids.length) return;
        out += "\n[lessons." + tomlKey(lid) + ".challenge." + tomlKey(cid) + "]\n";
        sids.forEach(function (s) { out += tomlKey(s) + " = " + tomlValue(steps[s]) + "\n"; });
      });
    });
    return out;
  }
  window.lecternAnswersToml = answersToml;
  document.querySelectorAll(".download-answers").forEach(function (button) {
    button.addEventListener("click", function () {
      var blob = new Blob([answersToml()], { type: "application/toml" });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = "answers.toml";
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
    });
  });

  // ---- time on lesson
  var timer = document.querySelector(".timer");
  if (timer && lesson) {
    var show = function () {
      var s = state.time[lesson] || 0;
      var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
      var two = function (n) { return (n < 10 ? "0" : "") + n; };
      timer.textContent = (h ? h + ":" : "") + two(m) + ":" + two(sec);
    };
    var seconds = state.time[lesson] || 0;
    var saveTime = function () { update(function (s) { s.time[lesson] = Math.max(s.time[lesson] || 0, seconds); }); };
    show();
    setInterval(function () {
      if (document.hidden) return;
      seconds += 1;
      state.time[lesson] = seconds;
      show();
      if (seconds % 5 === 0) saveTime();
    }, 1000);
    window.addEventListener("pagehide", saveTime);
  }

  // ---- code and terminal output that scroll sideways take keyboard focus, so that the
  // arrow keys scroll them (WCAG 2.1.1; axe's scrollable-region-focusable)
  document.querySelectorAll("pre.code, pre.terminal-output").forEach(function (pre) {
    if (!pre.hasAttribute("tabindex")) pre.setAttribute("tabindex", "0");
  });

  // ---- Run: captured output from the build, or `lectern serve` runs the code as it
  // stands in the page (editable there); the server takes runs only with the secret it
  // put into the page, and one at a time per code block
  var tokenMeta = document.querySelector('meta[name="lectern-token"]');
  var token = tokenMeta ? tokenMeta.getAttribute("content") : "";
  document.querySelectorAll(".code-file button.run").forEach(function (button) {
    var figure = button.closest(".code-file");
    var out = figure.querySelector(".terminal-output");
    var captured = figure.querySelector("template.captured-output");
    var code = figure.querySelector("pre code") || figure.querySelector("pre");
    if (body.dataset.serve && code) {
      code.setAttribute("contenteditable", "plaintext-only");
      code.setAttribute("spellcheck", "false");
    }
    button.addEventListener("click", function () {
      if (body.dataset.serve) {
        out.textContent = "> " + ui.running;
        button.disabled = true;
        fetch("/__lectern/run/" + figure.dataset.code, {
          method: "POST",
          headers: { "Content-Type": "text/plain; charset=utf-8", "X-Lectern-Token": token },
          body: code ? code.innerText : ""
        })
          .then(function (r) { return r.text(); })
          .then(function (t) { out.textContent = t; })
          .catch(function () { out.textContent = ui.no_output; })
          .then(function () { button.disabled = false; });
      } else {
        out.textContent = captured ? captured.content.textContent : ui.no_output;
      }
    });
  });

  // ---- search: the build's Pagefind index (lectern-search), loaded on first use. Browsers
  // refuse modules and fetches to pages opened from files, so there it says so instead.
  var searchBox = document.getElementById("site-search");
  if (searchBox) {
    var searchStatus = document.getElementById("site-search-status");
    var searchList = document.getElementById("site-search-results");
    var pagefind = null;
    var loadSearch = function () {
      if (!pagefind) {
        var url = new URL("pagefind/pagefind.js", document.baseURI).href;
        pagefind = import(url).then(function (pf) {
          return pf.options({ baseUrl: new URL(".", location.href).pathname }).then(function () { return pf; });
        });
      }
      return pagefind;
    };
    // Pagefind's excerpts are HTML with <mark>; only their text and marks are kept.
    var excerpt = function (html) {
      var p = document.createElement("p");
      var doc = new DOMParser().parseFromString("<body>" + html, "text/html");
      doc.body.childNodes.forEach(function (n) {
        if (n.nodeName === "MARK") {
          var m = document.createElement("mark");
          m.textContent = n.textContent;
          p.appendChild(m);
        } else {
          p.appendChild(document.createTextNode(n.textContent));
        }
      });
      return p;
    };
    var clear = function () {
      searchList.replaceChildren();
      searchList.hidden = true;
      searchStatus.textContent = "";
    };
    var asked = 0;
    var find = function () {
      var query = searchBox.value.trim();
      var mine = ++asked;
      if (!query) { clear(); return; }
      if (location.protocol === "file:") { searchStatus.textContent = ui.search_offline; return; }
      loadSearch()
        .then(function (pf) { return pf.debouncedSearch(query, {}, 150); })
        .then(function (found) {
          if (found === null || mine !== asked) return null;
          return Promise.all(found.results.slice(0, 10).map(function (r) { return r.data(); }));
        })
        .then(function (pages) {
          if (pages === null || mine !== asked) return;
          searchList.replaceChildren();
          pages.forEach(function (page) {
            var li = document.createElement("li");
            var a = document.createElement("a");
            a.href = page.url;
            a.textContent = (page.meta && page.meta.title) || page.url;
            li.appendChild(a);
            li.appendChild(excerpt(page.excerpt || ""));
            searchList.appendChild(li);
          });
          searchList.hidden = pages.length === 0;
          searchStatus.textContent = pages.length ? ui.search_found.replace("{n}", String(pages.length)) : ui.search_none;
        })
        .catch(function () { searchStatus.textContent = ui.search_failed; });
    };
    searchBox.addEventListener("input", find);
    searchBox.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { searchBox.value = ""; clear(); }
    });
  }

  // ---- live reload under `lectern serve`: the server pushes its version over
  // Server-Sent Events; on a new one, reload, or show the build's diagnostics over the
  // page while the last good site stays up. A hidden tab lets go of its stream (a browser
  // keeps few connections per server) and takes it again when shown. Without
  // EventSource, no live reload.
  if (body.dataset.serve && window.EventSource) {
    var versionMeta = document.querySelector('meta[name="lectern-version"]');
    var seen = versionMeta ? versionMeta.getAttribute("content") : null;
    var overlay = null;
    var events = null;
    var onVersion = function (e) {
      var v = e.data;
      if (seen === null) { seen = v; return; }
      if (v === seen) return;
      seen = v;
      fetch("/__lectern/errors", { cache: "no-store" }).then(function (r) { return r.text(); }).then(function (errors) {
        if (!errors) { location.reload(); return; }
        if (!overlay) {
          overlay = document.createElement("pre");
          overlay.className = "build-errors";
          overlay.setAttribute("role", "alert");
          document.body.appendChild(overlay);
        }
        overlay.textContent = errors;
      }).catch(function () {});
    };
    var listen = function () {
      if (document.hidden) {
        if (events) { events.close(); events = null; }
      } else if (!events) {
        events = new EventSource("/__lectern/events");
        events.onmessage = onVersion;
      }
    };
    document.addEventListener("visibilitychange", listen);
    listen();
  }
})();
