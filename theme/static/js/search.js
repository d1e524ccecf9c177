/*
 * 信用盐城 search page (no server): reads ?q= and filters from the URL, searches as the user types
 * (search-engine.js answers), and renders into #results: results, filter chips, suggestions, pages.
 * Design and numbers: docs/search.md. Every value from the index is inserted with textContent,
 * never as HTML.
 */
(function () {
  "use strict";
  var T = window.XyycTokenizer, E = window.XyycSearchEngine;
  var PAGE = 20, DEBOUNCE_MS = 250, HAN_START = E.HAN_START;
  var manifest = E.manifest, authorities = E.authorities;
  var state = { q: "", kind: "", year: "", auth: "", sort: "rel", page: 1 };
  var runId = 0, timer = null;
  var $ = function (id) { return document.getElementById(id); };

  /* -- rendering (textContent only) ------------------------------------------------------------ */

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function formatDate(iso) {
    var p = iso.split("-");
    return p.length === 3 ? (+p[0]) + "年" + (+p[1]) + "月" + (+p[2]) + "日" : iso;
  }

  function recordUrl(m, ref, id) {
    var kind = m.kinds[ref[0]][0];
    return "../records/" + kind + "/" + id.slice(0, 2) + "/" + id + ".html";
  }

  function entityUrl(id) { return "../entities/" + id.slice(0, 2) + "/" + id + ".html"; }

  /* text split into runs, those the query matched marked: every query bigram (of its runs and their
     cores), a lone Han character, an ASCII run. */
  function highlighted(tag, cls, text, q) {
    var node = el(tag, cls), chars = Array.from(text), folded = chars.map(function (c) { return T.fold(c); });
    var marks = chars.map(function () { return false; }), pieces = {};
    T.runs(q).concat(T.coreRuns(q)).forEach(function (run) {
      var cs = Array.from(run);
      if (!HAN_START.test(run)) { pieces[run] = true; return; }
      if (cs.length === 1) { pieces[run] = true; }
      for (var i = 0; i + 1 < cs.length; i++) { pieces[cs[i] + cs[i + 1]] = true; }
    });
    Object.keys(pieces).forEach(function (piece) {
      var len = Array.from(piece).length;
      for (var i = 0; i + len <= folded.length; i++) {
        if (folded.slice(i, i + len).join("") === piece) { for (var j = i; j < i + len; j++) { marks[j] = true; } }
      }
    });
    var run = "", on = false;
    function flush() { if (run) { node.appendChild(on ? el("mark", null, run) : document.createTextNode(run)); } run = ""; }
    chars.forEach(function (c, i) { if (marks[i] !== on) { flush(); on = marks[i]; } run += c; });
    flush();
    return node;
  }

  var FILTER_NAMES = { kind: "类别", year: "年份", auth: "机关" };

  function activeFilters(m) {
    var out = [];
    if (state.kind) {
      var label = state.kind;
      Object.keys(m.kinds).forEach(function (k) { if (m.kinds[k][0] === state.kind) { label = m.kinds[k][1]; } });
      out.push(["kind", label]);
    }
    if (state.year) { out.push(["year", state.year + "年"]); }
    if (state.auth) { out.push(["auth", state.auth]); }
    return out;
  }

  /* 已筛选：行政处罚 × … — each chip removes its filter; with none found, one button searches all. */
  function filterChips(m, empty) {
    var filters = activeFilters(m);
    if (!filters.length) { return null; }
    var p = el("p", "filter-chips");
    p.appendChild(el("span", null, "已筛选："));
    filters.forEach(function (f) {
      var b = el("button", "chip", f[1] + " ×");
      b.type = "button";
      b.setAttribute("aria-label", "取消筛选" + FILTER_NAMES[f[0]] + "：" + f[1]);
      b.addEventListener("click", function () { clearFilters([f[0]]); });
      p.appendChild(b);
    });
    if (empty) {
      var all = el("button", "chip chip-all", "在全部类别和年份中查找");
      all.type = "button";
      all.addEventListener("click", function () { clearFilters(["kind", "year", "auth"]); });
      p.appendChild(all);
    }
    return p;
  }

  function clearFilters(names) {
    names.forEach(function (n) { state[n] = ""; var s = $("f-" + n); if (s) { s.value = ""; } });
    filterLabel();
    state.page = 1;
    sync(true);
    run();
  }

  function suggestionLine(texts) {
    var p = el("p", "suggestion");
    p.appendChild(el("span", null, "您是不是要找："));
    texts.forEach(function (text, i) {
      if (i) { p.appendChild(document.createTextNode("、")); }
      var a = el("a", null, text);
      a.href = "?" + query(Object.assign({}, state, { q: text, page: 1 }));
      a.addEventListener("click", function (e) { e.preventDefault(); state.q = text; state.page = 1; $("q").value = text; sync(true); run(); });
      p.appendChild(a);
    });
    return p;
  }

  function renderResults(m, r, auths, q) {
    var box = $("results"), page = r.page;
    box.textContent = "";
    var chips = filterChips(m, !page.rows.length);
    if (chips) { box.appendChild(chips); }
    if (r.suggestions && r.suggestions.length) { box.appendChild(suggestionLine(r.suggestions)); }
    if (auths.length) {
      var section = el("section", "auth-results");
      section.setAttribute("aria-label", "相关机关");
      section.appendChild(el("h2", null, "相关机关"));
      var ul = el("ul", "group-list");
      auths.forEach(function (a) {
        var li = el("li");
        var link = el("a", null, a[0]);
        link.href = "../" + a[3];
        li.appendChild(link);
        li.appendChild(el("span", "count", " " + a[1] + " " + a[2] + " 条"));
        ul.appendChild(li);
      });
      section.appendChild(ul);
      box.appendChild(section);
    }
    if (!page.rows.length) {
      if (!auths.length) {
        var none = el("div", "notice");
        var tips = el("ul");
        ["请检查是否有错别字，或只输入企业名称中有代表性的两三个字；",
         "统一社会信用代码请输入其中连续的至少 6 位（开头、第 9 位起或末尾）；决定书文号的括号写法不限，如“盐市监罚 2026 12”；",
         "已撤下或超过公示期限的信息不再公示；也可以从首页按类别浏览全部信息。"].forEach(function (t) { tips.appendChild(el("li", null, t)); });
        none.appendChild(tips);
        box.appendChild(none);
      }
      return;
    }
    /* One subject, several results: counted; one name, several subjects: said. */
    var perEntity = {}, entitiesOfName = {};
    page.rows.forEach(function (item) {
      var key = item.row[6] || ("name:" + item.row[1]);
      perEntity[key] = (perEntity[key] || 0) + 1;
      (entitiesOfName[item.row[1]] = entitiesOfName[item.row[1]] || {})[key] = true;
    });
    var ol = el("ol", "results"), shown = {};
    page.rows.forEach(function (item) {
      var row = item.row, kindLabel = m.kinds[item.ref[0]][1], key = row[6] || ("name:" + row[1]);
      var li = el("li", "result");
      var link = highlighted("a", "result-title", row[1], q);
      link.href = recordUrl(m, item.ref, row[0]);
      li.appendChild(link);
      var meta = el("div", "result-meta");
      meta.appendChild(el("span", "tag tag-" + m.kinds[item.ref[0]][0], kindLabel));
      if (row[5]) {
        var code = el("span", "code");
        code.appendChild(el("span", "label", "统一社会信用代码 "));
        code.appendChild(highlighted("code", null, row[5], q));
        meta.appendChild(code);
      }
      li.appendChild(meta);
      var meta2 = el("div", "result-meta");
      meta2.appendChild(highlighted("span", "docno", row[2], q));
      meta2.appendChild(el("span", null, row[3]));
      var time = el("time", null, formatDate(row[4]));
      time.setAttribute("datetime", row[4]);
      meta2.appendChild(time);
      li.appendChild(meta2);
      if (row[7]) { li.appendChild(highlighted("div", "result-extra", row[7], q)); }
      if (row[8]) { li.appendChild(highlighted("div", "result-extra", row[8], q)); }
      var more = el("div", "result-links");
      if (row[6]) {
        var archive = el("a", "archive", "信用档案");
        archive.href = entityUrl(row[6]);
        archive.setAttribute("aria-label", row[1] + (row[5] ? "（" + row[5] + "）" : "") + "的信用档案");
        more.appendChild(archive);
      }
      if (perEntity[key] > 1 && !shown[key]) { more.appendChild(el("span", "group-count", "该主体本页共 " + perEntity[key] + " 条")); }
      if (Object.keys(entitiesOfName[row[1]]).length > 1) { more.appendChild(el("span", "same-name", "同名主体，请核对统一社会信用代码")); }
      shown[key] = true;
      if (more.childNodes.length) { li.appendChild(more); }
      ol.appendChild(li);
    });
    box.appendChild(ol);
    var nav = el("nav", "pager");
    nav.setAttribute("aria-label", "搜索结果分页");
    var list = el("ul");
    if (state.page > 1) { list.appendChild(pageLink("上一页", state.page - 1)); }
    list.appendChild(el("li", null, "第 " + state.page + " 页"));
    if (page.more || page.found > state.page * PAGE) { list.appendChild(pageLink("下一页", state.page + 1)); }
    nav.appendChild(list);
    box.appendChild(nav);
  }

  function pageLink(text, number) {
    var li = el("li"), a = el("a", null, text);
    a.href = "?" + query(Object.assign({}, state, { page: number }));
    a.addEventListener("click", function (e) { e.preventDefault(); state.page = number; sync(true); run(); window.scrollTo(0, 0); });
    li.appendChild(a);
    return li;
  }

  function status(text) { $("search-status").textContent = text; }

  /* -- state, URL, filters --------------------------------------------------------------------- */

  function query(s) {
    var p = new URLSearchParams();
    if (s.q) { p.set("q", s.q); }
    ["kind", "year", "auth"].forEach(function (k) { if (s[k]) { p.set(k, s[k]); } });
    if (s.sort !== "rel") { p.set("sort", s.sort); }
    if (s.page > 1) { p.set("page", String(s.page)); }
    return p.toString();
  }

  function readUrl() {
    var p = new URLSearchParams(window.location.search);
    state.q = (p.get("q") || "").slice(0, 100);
    state.kind = p.get("kind") || "";
    state.year = p.get("year") || "";
    state.auth = p.get("auth") || "";
    state.sort = p.get("sort") === "date" ? "date" : "rel";
    state.page = Math.max(1, parseInt(p.get("page") || "1", 10) || 1);
  }

  function sync(push) {
    var url = window.location.pathname + (query(state) ? "?" + query(state) : "");
    if (push) { window.history.pushState(null, "", url); } else { window.history.replaceState(null, "", url); }
  }

  function select(id, label, options, value) {
    var wrap = el("label", null, label);
    wrap.setAttribute("for", id);
    var s = el("select");
    s.id = id;
    options.forEach(function (o) { var opt = el("option", null, o[1]); opt.value = o[0]; s.appendChild(opt); });
    s.value = value;
    wrap.appendChild(s);
    return wrap;
  }

  /* The filters sit behind a 筛选 toggle on a phone (a <details>, always open on a wide screen:
     site.css .wide-open); its label counts the filters in force. */
  function filterLabel() {
    var on = ["kind", "year", "auth"].filter(function (k) { return state[k]; }).length;
    var summary = document.querySelector("#search-filters-toggle > summary");
    if (summary) { summary.textContent = on ? "筛选（已选 " + on + " 项）" : "筛选"; }
  }

  function buildFilters(m) {
    var toggle = el("details", "filter-toggle wide-open");
    toggle.id = "search-filters-toggle";
    toggle.appendChild(el("summary"));
    var box = el("div", "search-filters");
    box.id = "search-filters";
    toggle.appendChild(box);
    var kinds = [["", "全部类别"]].concat(Object.keys(m.kinds).map(function (k) { return [m.kinds[k][0], m.kinds[k][1]]; }));
    var years = [["", "全部年份"]].concat(m.years.map(function (y) { return [String(y), y + "年"]; }));
    box.appendChild(select("f-kind", "类别", kinds, state.kind));
    box.appendChild(select("f-year", "年份", years, state.year));
    box.appendChild(select("f-auth", "机关", [["", "全部机关"]].concat(state.auth ? [[state.auth, state.auth]] : []), state.auth));
    box.appendChild(select("f-sort", "排序", [["rel", "按相关度"], ["date", "按日期（新→旧）"]], state.sort));
    var form = document.querySelector(".search-form");
    form.parentNode.insertBefore(toggle, form.nextSibling);
    filterLabel();
    [["f-kind", "kind"], ["f-year", "year"], ["f-auth", "auth"], ["f-sort", "sort"]].forEach(function (pair) {
      $(pair[0]).addEventListener("change", function (e) { state[pair[1]] = e.target.value; state.page = 1; filterLabel(); sync(true); run(); });
    });
    $("f-auth").addEventListener("focus", fillAuthorities, { once: true });
    if (state.auth) { fillAuthorities(); }
  }

  function fillAuthorities() {
    authorities().then(function (a) {
      var s = $("f-auth"), seen = {};
      a.list.map(function (e) { return e[0]; }).sort().forEach(function (name) {
        if (seen[name] || name === state.auth) { return; }
        seen[name] = true;
        var opt = el("option", null, name);
        opt.value = name;
        s.appendChild(opt);
      });
    });
  }

  /* -- the search ------------------------------------------------------------------------------ */

  function run() {
    var id = ++runId;
    var q = state.q.trim();
    if (!q) { $("results").textContent = ""; status(""); return Promise.resolve(); }
    var terms = T.queryTerms(q);
    if (!terms.length) { $("results").textContent = ""; status("请输入企业名称、统一社会信用代码或决定书文号中的文字或数字。"); return Promise.resolve(); }
    status("正在查询…");
    return manifest().then(function (m) {
      var wantAuths = state.page === 1 && !state.kind && !state.auth;
      return Promise.all([E.search(m, q, state), wantAuths ? E.matchAuthorities(terms) : Promise.resolve([])]).then(function (both) {
        if (id !== runId) { return; }
        var r = both[0], auths = both[1], rows = r.page.rows.length;
        var filters = activeFilters(m).map(function (f) { return f[1]; });
        var scope = filters.length ? "（已筛选：" + filters.join("、") + "）" : "";
        var msg;
        if (rows) {
          var parts = [(r.exact ? "" : "约 ") + r.count + " 条公示信息"];
          if (auths.length) { parts.push(auths.length + " 个相关机关"); }
          msg = "找到 " + parts.join("，") + scope + "。";
          if (r.mode === "core") { msg += " 已忽略“盐城”“县”“有限公司”等通用词。"; }
          if (r.mode === "inorder") { msg += " 没有名称完全相同的；以下名称依次含有所输入的字，最接近的在前。"; }
        } else if (auths.length) {
          msg = "找到 " + auths.length + " 个相关机关" + scope + "，没有相符的公示信息。";
        } else {
          msg = "没有找到与“" + q + "”相符的公示信息" + scope + "。";
        }
        var single = terms.length === 1 && terms[0].prefix && T.runs(q)[0].length === 1;
        if (r.partial) { msg += " 查询词过于宽泛，只显示最新的部分结果（按日期从新到旧）；请输入更多文字。"; }
        else if (single && rows) { msg += " 只输入了一个字，结果可能很多；请输入更多文字。"; }
        status(msg);
        renderResults(m, r, auths, q);
        document.body.setAttribute("data-search-done", String(id));
      });
    }).catch(function (err) {
      if (id === runId) { status("查询暂时无法使用（" + err.message + "），请稍后再试，或从首页按类别浏览。"); }
    });
  }

  function init() {
    readUrl();
    var input = $("q");
    input.value = state.q;
    manifest().then(function (m) {
      PAGE = m.page || PAGE;
      buildFilters(m);
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state.q = input.value.slice(0, 100); state.page = 1; sync(false); run(); }, DEBOUNCE_MS);
    });
    document.querySelector(".search-form").addEventListener("submit", function (e) {
      e.preventDefault();
      clearTimeout(timer);
      state.q = input.value.slice(0, 100);
      state.page = 1;
      sync(true);
      run();
    });
    window.addEventListener("popstate", function () { readUrl(); input.value = state.q; filterLabel(); run(); });
    if (state.q) { run(); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
