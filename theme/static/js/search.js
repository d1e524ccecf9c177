/*
 * 信用盐城 client-side search (no server). Reads ?q= and filters from the URL, searches as the user
 * types, and renders into #results. Downloads only: the manifests, in each segment the shard of
 * each query token, and the display buckets of the results it shows. Design and numbers:
 * docs/search.md. A result is "<segment number>:<ref>" (ref = kind letter + base-36 position).
 * Every value from the index is inserted with textContent, never as HTML.
 */
(function () {
  "use strict";
  var T = window.XyycTokenizer;
  var PAGE = 20, SCAN_LIMIT = 400, DEBOUNCE_MS = 250;
  var BRACKETS = /[〔〕\[\]()（）【】［］﹝﹞<>《》{}｛｝]/g;  /* as _BRACKETS in generator/search.py */
  var cache = { manifest: null, shards: {}, docs: {}, authorities: null };
  var state = { q: "", kind: "", year: "", auth: "", sort: "rel", page: 1 };
  var runId = 0, timer = null;
  var $ = function (id) { return document.getElementById(id); };

  lunr.Pipeline.registerFunction(T.foldToken, T.FOLD_NAME);

  function getJSON(url) {
    return fetch(url).then(function (r) {
      if (!r.ok) { throw new Error(url + ": " + r.status); }
      return r.json();
    });
  }
  /* The top manifest with each segment's manifest as .segs[i] (with .path). */
  function manifest() {
    return cache.manifest || (cache.manifest = getJSON("manifest.json").then(function (m) {
      return Promise.all(m.segments.map(function (s) { return getJSON(s[0] + "/manifest.json"); })).then(function (segs) {
        segs.forEach(function (seg, i) { seg.path = m.segments[i][0]; });
        m.segs = segs;
        return m;
      });
    }));
  }
  function shard(seg, n) {
    var key = seg.path + "/" + n;
    return cache.shards[key] || (cache.shards[key] = getJSON(seg.path + "/shards/" + n + ".json").then(function (d) { return lunr.Index.load(d); }));
  }
  function bucket(seg, n) {
    var key = seg.path + "/" + n;
    return cache.docs[key] || (cache.docs[key] = getJSON(seg.path + "/docs/" + n + ".json"));
  }
  function authorities() {
    return cache.authorities || (cache.authorities = getJSON("authorities.json").then(function (d) {
      return { index: lunr.Index.load(d.index), list: d.list };
    }));
  }

  /* Binary search over the first token of each shard (code-unit order, as sorted at build time). */
  function shardFor(firsts, token) {
    var lo = 0, hi = firsts.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (firsts[mid] <= token) { lo = mid + 1; } else { hi = mid; } }
    return Math.max(0, lo - 1);
  }

  function termScores(index, term) {
    var wildcard = term.prefix ? lunr.Query.wildcard.TRAILING : lunr.Query.wildcard.NONE;
    return index.query(function (q) { q.term(term.token, { usePipeline: false, wildcard: wildcard }); });
  }

  /* Candidates: "<segment>:<ref>" matching every usable term, with summed lunr scores. */
  function candidates(m, terms) {
    return Promise.all(m.segs.map(function (seg, i) { return segmentCandidates(m, seg, terms); })).then(function (found) {
      var scores = {}, partial = false;
      found.forEach(function (f, i) {
        partial = partial || f.partial;
        Object.keys(f.scores).forEach(function (ref) { scores[i + ":" + ref] = f.scores[ref]; });
      });
      return { scores: scores, partial: partial };
    });
  }

  function segmentCandidates(m, seg, terms) {
    var usable = terms.filter(function (t) { return !Object.prototype.hasOwnProperty.call(seg.capped, t.token); });
    var partial = false;
    if (!usable.length) { usable = terms; partial = true; }
    return Promise.all(usable.map(function (term) {
      var lo = shardFor(seg.shards, term.token);
      var hi = term.prefix ? shardFor(seg.shards, term.token + "\uffff") : lo;
      var wanted = [];
      for (var n = lo; n <= hi; n++) {
        /* An empty shard (all its rows unpublished) has the next one's boundary: skipped, not counted. */
        if (n < hi && seg.shards[n] === seg.shards[n + 1]) { continue; }
        if (wanted.length === m.prefixMaxShards) { partial = true; break; }
        wanted.push(shard(seg, n));
      }
      return Promise.all(wanted).then(function (indexes) {
        var scores = {};
        indexes.forEach(function (index) {
          termScores(index, term).forEach(function (hit) { scores[hit.ref] = (scores[hit.ref] || 0) + hit.score; });
        });
        return scores;
      });
    })).then(function (maps) {
      var result = maps[0] || {};
      maps.slice(1).forEach(function (next) {
        var merged = {};
        Object.keys(result).forEach(function (ref) { if (ref in next) { merged[ref] = result[ref] + next[ref]; } });
        result = merged;
      });
      return { scores: result, partial: partial };
    });
  }

  /* A result "<segment>:<ref>" → {seg, kind letter, seq, day}: the day from the segment's day table. */
  function parse(m, key) {
    var colon = key.indexOf(":"), seg = m.segs[+key.slice(0, colon)], ref = key.slice(colon + 1);
    var seq = parseInt(ref.slice(1), 36), days = seg.days, lo = 0, hi = days.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (days[mid][1] <= seq) { lo = mid + 1; } else { hi = mid; } }
    return { seg: seg, segNo: +key.slice(0, colon), letter: ref[0], seq: seq, day: lo ? days[lo - 1][0] : 0 };
  }

  /* Ordered, filtered results (kind and year need no download): newest first among equals. */
  function ordered(m, scores) {
    var info = {};
    var keys = Object.keys(scores).filter(function (k) {
      var p = info[k] = parse(m, k);
      if (state.kind && m.kinds[p.letter][0] !== state.kind) { return false; }
      return !state.year || String(Math.floor(p.day / 10000)) === state.year;
    });
    function newest(a, b) {
      var x = info[a], y = info[b];
      return (y.day - x.day) || (x.segNo - y.segNo) || (x.seq - y.seq);
    }
    keys.sort(state.sort === "date" ? newest : function (a, b) { return (scores[b] - scores[a]) || newest(a, b); });
    keys.info = info;
    return keys;
  }

  /* Display rows for refs, verifying that each query run really occurs (bigram AND is not contiguity). */
  function verified(m, refs, needles, offset, limit, exact) {
    var out = [], scanned = 0, index = 0, size = exact ? limit : 40;
    function step() {
      if (out.length >= offset + limit || index >= refs.length || scanned >= SCAN_LIMIT + offset) {
        return Promise.resolve({ rows: out.slice(offset, offset + limit), more: index < refs.length, verifiedAll: index >= refs.length, found: out.length });
      }
      var batch = refs.slice(index, index + Math.max(size, offset + limit - out.length));
      index += batch.length;
      scanned += batch.length;
      return Promise.all(batch.map(function (key) {
        var p = refs.info[key];
        return bucket(p.seg, Math.floor(p.seq / p.seg.bucket)).then(function (rows) { return { ref: p.letter, row: rows[p.seq % p.seg.bucket] }; });
      })).then(function (items) {
        items.forEach(function (item) {
          var row = item.row;
          if (!row) { return; }
          var hay = T.fold(row[1] + " " + row[2] + " " + row[2].replace(BRACKETS, "") + " " + row[5]);
          var ok = needles.every(function (n) { return hay.indexOf(n) >= 0; });
          if (ok && state.auth && row[3] !== state.auth) { ok = false; }
          if (ok) { out.push({ ref: item.ref, row: row }); }
        });
        return step();
      });
    }
    return step();
  }

  function matchAuthorities(terms) {
    return authorities().then(function (a) {
      var result = null;
      terms.forEach(function (term) {
        var hits = {};
        termScores(a.index, term).forEach(function (h) { hits[h.ref] = h.score; });
        result = result === null ? hits : Object.keys(result).reduce(function (acc, ref) { if (ref in hits) { acc[ref] = result[ref] + hits[ref]; } return acc; }, {});
      });
      var needles = T.runs(terms.map(function (t) { return t.token; }).join(" "));
      return Object.keys(result || {}).map(function (ref) { return a.list[+ref]; })
        .filter(function (entry) { return needles.every(function (n) { return T.fold(entry[0]).indexOf(n) >= 0; }); })
        .slice(0, 8);
    });
  }

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

  function renderResults(m, page, total, exact, partial, auths) {
    var box = $("results");
    box.textContent = "";
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
        none.appendChild(el("p", null, "没有找到与“" + state.q + "”相符的公示信息。"));
        var tips = el("ul");
        ["请检查是否有错别字，或只输入企业名称中有代表性的两三个字；",
         "统一社会信用代码请至少输入前 8 位；决定书文号的括号写法不限，如“盐市监罚 2026 12”；",
         "已撤下或超过公示期限的信息不再公示；也可以从首页按类别浏览全部信息。"].forEach(function (t) { tips.appendChild(el("li", null, t)); });
        none.appendChild(tips);
        box.appendChild(none);
      }
      return;
    }
    var ol = el("ol", "results");
    page.rows.forEach(function (item) {
      var row = item.row, kindLabel = m.kinds[item.ref[0]][1];
      var li = el("li", "result");
      var link = el("a", "result-title", row[1]);
      link.href = recordUrl(m, item.ref, row[0]);
      li.appendChild(link);
      var meta = el("div", "result-meta");
      meta.appendChild(el("span", "tag tag-" + m.kinds[item.ref[0]][0], kindLabel));
      meta.appendChild(el("span", "docno", row[2]));
      li.appendChild(meta);
      var meta2 = el("div", "result-meta");
      meta2.appendChild(el("span", null, row[3]));
      var time = el("time", null, formatDate(row[4]));
      time.setAttribute("datetime", row[4]);
      meta2.appendChild(time);
      li.appendChild(meta2);
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

  function buildFilters(m) {
    var box = el("div", "search-filters");
    box.id = "search-filters";
    var kinds = [["", "全部类别"]].concat(Object.keys(m.kinds).map(function (k) { return [m.kinds[k][0], m.kinds[k][1]]; }));
    var years = [["", "全部年份"]].concat(m.years.map(function (y) { return [String(y), y + "年"]; }));
    box.appendChild(select("f-kind", "类别", kinds, state.kind));
    box.appendChild(select("f-year", "年份", years, state.year));
    box.appendChild(select("f-auth", "机关", [["", "全部机关"]].concat(state.auth ? [[state.auth, state.auth]] : []), state.auth));
    box.appendChild(select("f-sort", "排序", [["rel", "按相关度"], ["date", "按日期（新→旧）"]], state.sort));
    var form = document.querySelector(".search-form");
    form.parentNode.insertBefore(box, form.nextSibling);
    [["f-kind", "kind"], ["f-year", "year"], ["f-auth", "auth"], ["f-sort", "sort"]].forEach(function (pair) {
      $(pair[0]).addEventListener("change", function (e) { state[pair[1]] = e.target.value; state.page = 1; sync(true); run(); });
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
      var needles = T.runs(q);
      return Promise.all([candidates(m, terms), state.page === 1 && !state.kind && !state.auth ? matchAuthorities(terms) : Promise.resolve([])])
        .then(function (both) {
          var found = both[0], auths = both[1];
          var refs = ordered(m, found.scores);
          // Every term one token of its own run: the index match is already exact, fetch only the page.
          var exactMatch = !state.auth && T.runs(q).every(function (r) { return r.length <= 2 || !/^[\u3007\u3400-\u9fff\uf900-\ufaff]/.test(r); });
          var start = exactMatch ? (state.page - 1) * PAGE : 0;
          var rest = refs.slice(start);
          rest.info = refs.info;
          return verified(m, rest, needles, (state.page - 1) * PAGE - start, PAGE, exactMatch).then(function (page) {
            if (id !== runId) { return; }
            var exact = exactMatch || page.verifiedAll;
            var count = exactMatch ? refs.length : (page.verifiedAll ? page.found : refs.length);
            if (exactMatch) { page.more = state.page * PAGE < refs.length; page.found = refs.length; }
            var single = terms.length === 1 && terms[0].prefix && T.runs(q)[0].length === 1;
            var parts = [];
            if (page.rows.length) { parts.push((exact ? "" : "约 ") + count + " 条公示信息"); }
            if (auths.length) { parts.push(auths.length + " 个相关机关"); }
            var msg = parts.length ? "找到 " + parts.join("，") + "。" : "没有找到相符的信息。";
            if (found.partial || single) { msg += " 查询词过于宽泛，只显示最新的部分结果；请输入更多文字。"; }
            status(msg);
            renderResults(m, page, count, exact, found.partial, auths);
            document.body.setAttribute("data-search-done", String(id));
          });
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
    window.addEventListener("popstate", function () { readUrl(); input.value = state.q; run(); });
    if (state.q) { run(); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
