#!/usr/bin/env python3
"""Checks the shipped data files against the khaosat data contract.

Run from anywhere: `python3 data/check_data.py`. Standard library only.
Exits 0 when every check passes, 1 otherwise (each failure is printed).

Files checked (paths relative to this script's directory):
  units/bac-giang-2020.json  administrative units tree (province > district > commune)
  demo/bac-giang-2020.json   demo users, facilities and 2020 proposals
  forms/khuyen-cong-v1.json  default survey form definition, version 1

forms/khuyen-cong-v1.xlsx is the same form as an XLSForm; a Rust test
(app: office::admin::xlsform) checks that it imports to the JSON.
"""
import json
import os
import re
import sys
import unicodedata
from collections import Counter
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
UNITS_PATH = os.path.join(HERE, "units", "bac-giang-2020.json")
DEMO_PATH = os.path.join(HERE, "demo", "bac-giang-2020.json")
FORM_PATH = os.path.join(HERE, "forms", "khuyen-cong-v1.json")

# Official GSO district-level codes of Bắc Giang (tỉnh 24) as of 2020.
DISTRICTS = {
    "213": "Bắc Giang", "215": "Yên Thế", "216": "Tân Yên", "217": "Lạng Giang", "218": "Lục Nam",
    "219": "Lục Ngạn", "220": "Sơn Động", "221": "Yên Dũng", "222": "Việt Yên", "223": "Hiệp Hòa",
}
# Proposals registered for 2020, by district (seed news item of the KC&XTTM center).
PROPOSALS_PER_DISTRICT = {
    "213": 11, "223": 5, "215": 2, "216": 4, "222": 3, "221": 6, "219": 3, "217": 2, "220": 1, "218": 0,
}
USERS = {
    "quantri": ("administrator", None), "giamsat": ("supervisor", None),
    "ksv1": ("inspector", {"213", "218"}), "ksv2": ("inspector", {"223", "222"}),
    "ksv3": ("inspector", {"215", "216"}), "ksv4": ("inspector", {"221", "217"}),
    "ksv5": ("inspector", {"219", "220"}),
}
INDUSTRY_GROUPS = {"processing", "building_materials", "mechanical", "handicrafts", "other"}
SUPPORT_KINDS = {"machinery", "demonstration_model", "training", "trade_promotion", "consulting", "other"}
KINDS_BY_LEVEL = {"province": {"tỉnh"}, "district": {"thành phố", "huyện", "thị xã"},
                  "commune": {"phường", "xã", "thị trấn"}}
FIELD_TYPES = {"text", "long_text", "integer", "decimal", "money", "date", "select_one", "select_many",
               "yes_no", "geopoint", "photo", "note", "repeat"}
SELECT_TYPES = {"select_one", "select_many"}
NUMERIC_TYPES = {"integer", "decimal", "money"}
UUID7_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
PHONE_RE = re.compile(r"^0(3|5|7|8|9)[0-9]{8}$")
SNAKE_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Rough bounding box of Bắc Giang province.
LAT_RANGE, LON_RANGE = (21.1, 21.6), (105.9, 106.9)

errors = []


def fail(msg):
    errors.append(msg)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{os.path.relpath(path, HERE)}: cannot load: {e}")
        return None


def walk_strings(obj, where):
    """Every string (keys included) must be NFC so search and comparison are stable."""
    if isinstance(obj, str):
        check(unicodedata.is_normalized("NFC", obj), f"{where}: string not NFC: {obj!r}")
    elif isinstance(obj, list):
        for i, x in enumerate(obj):
            walk_strings(x, f"{where}[{i}]")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            walk_strings(k, f"{where}.<key>")
            walk_strings(v, f"{where}.{k}")


def uuid7_time(u):
    return datetime.fromtimestamp(int(u.replace("-", "")[:12], 16) / 1000, tz=timezone.utc)


# ---------------------------------------------------------------- units

def check_units(doc):
    walk_strings(doc, "units")
    check(doc.get("tree") == "bac-giang-2020", "units: tree must be 'bac-giang-2020'")
    check(doc.get("effective_from") == "2020-01-01", "units: effective_from must be '2020-01-01'")
    check(isinstance(doc.get("source"), str) and doc["source"].strip(), "units: source missing")
    units = doc.get("units") or []
    by_code = {}
    for i, u in enumerate(units):
        where = f"units[{i}]"
        if not check(set(u) == {"code", "name", "kind", "level", "parent"},
                     f"{where}: keys must be code,name,kind,level,parent (got {sorted(u)})"):
            continue
        check(u["code"] not in by_code, f"{where}: duplicate code {u['code']}")
        by_code[u["code"]] = u
        check(u["level"] in KINDS_BY_LEVEL, f"{where}: bad level {u['level']}")
        check(u["kind"] in KINDS_BY_LEVEL.get(u["level"], set()),
              f"{where}: kind {u['kind']!r} not valid for level {u['level']}")
        check(isinstance(u["name"], str) and u["name"].strip() == u["name"] and u["name"],
              f"{where}: bad name {u['name']!r}")
    provinces = [u for u in by_code.values() if u["level"] == "province"]
    check(len(provinces) == 1 and provinces[0]["code"] == "24" and provinces[0]["name"] == "Bắc Giang"
          and provinces[0]["parent"] is None, "units: exactly one province, code 24 'Bắc Giang', parent null")
    districts = {c: u for c, u in by_code.items() if u["level"] == "district"}
    check(set(districts) == set(DISTRICTS), f"units: district codes {sorted(districts)} != {sorted(DISTRICTS)}")
    for c, name in DISTRICTS.items():
        d = districts.get(c)
        if d:
            check(d["name"] == name, f"units: district {c} name {d['name']!r} != {name!r}")
            check(d["parent"] == "24", f"units: district {c} parent must be 24")
            check(d["kind"] == ("thành phố" if c == "213" else "huyện"), f"units: district {c} kind {d['kind']!r}")
    communes = {c: u for c, u in by_code.items() if u["level"] == "commune"}
    for c, u in communes.items():
        check(re.fullmatch(r"07\d{3}", c) is not None, f"units: commune code {c} not a Bắc Giang 07xxx code")
        check(u["parent"] in districts, f"units: commune {c} parent {u['parent']} is not a district")
    per_district = Counter(u["parent"] for u in communes.values())
    for c in DISTRICTS:
        check(3 <= per_district.get(c, 0) <= 6, f"units: district {c} has {per_district.get(c, 0)} communes (want 3-6)")
    tx = [u for u in communes.values() if u["name"] == "Thọ Xương"]
    check(len(tx) == 1 and tx[0]["parent"] == "213" and tx[0]["kind"] == "phường" and tx[0]["code"] == "07201",
          "units: phường Thọ Xương (GSO 07201) of TP Bắc Giang must be present")
    names = Counter((u["parent"], u["name"]) for u in communes.values())
    for (p, n), k in names.items():
        check(k == 1, f"units: commune name {n!r} repeated in district {p}")
    return by_code


# ---------------------------------------------------------------- demo

def check_demo(doc, units):
    walk_strings(doc, "demo")
    check(doc.get("password") == "khaosat-demo", "demo: password must be 'khaosat-demo'")
    districts = {c for c, u in units.items() if u["level"] == "district"}

    users = doc.get("users") or []
    seen = {}
    for i, u in enumerate(users):
        where = f"demo.users[{i}]"
        if not check(set(u) == {"username", "display_name", "roles", "units"}, f"{where}: bad keys {sorted(u)}"):
            continue
        check(u["username"] not in seen, f"{where}: duplicate username {u['username']}")
        seen[u["username"]] = u
        check(isinstance(u["display_name"], str) and u["display_name"].strip(), f"{where}: empty display_name")
        check(all(x in districts for x in u["units"]), f"{where}: unknown unit in {u['units']}")
        check(len(set(u["units"])) == len(u["units"]), f"{where}: duplicate units")
    check(set(seen) == set(USERS), f"demo: usernames {sorted(seen)} != {sorted(USERS)}")
    for name, (role, want_units) in USERS.items():
        u = seen.get(name)
        if not u:
            continue
        check(u["roles"] == [role], f"demo: user {name} roles {u['roles']} != [{role!r}]")
        if want_units is not None:
            check(set(u["units"]) == want_units, f"demo: user {name} units {u['units']} != {sorted(want_units)}")
        else:
            check(set(u["units"]) == districts, f"demo: user {name} should cover every district")

    fac_keys = {"id", "name", "owner_name", "address", "commune_code", "district_code", "industry_group",
                "phone", "lat", "lon", "workforce", "main_products"}
    facilities = doc.get("facilities") or []
    fac_by_id = {}
    for i, f in enumerate(facilities):
        where = f"demo.facilities[{i}]"
        if not check(set(f) == fac_keys, f"{where}: keys {sorted(f)} != {sorted(fac_keys)}"):
            continue
        check(UUID7_RE.match(f["id"]) is not None, f"{where}: id {f['id']!r} is not a lowercase UUIDv7")
        check(f["id"] not in fac_by_id, f"{where}: duplicate id")
        fac_by_id[f["id"]] = f
        for k in ("name", "owner_name", "address", "main_products"):
            check(isinstance(f[k], str) and f[k].strip(), f"{where}: empty {k}")
        cu = units.get(f["commune_code"])
        if check(cu is not None and cu["level"] == "commune", f"{where}: commune_code {f['commune_code']} unknown"):
            check(cu["parent"] == f["district_code"],
                  f"{where}: commune {f['commune_code']} is not in district {f['district_code']}")
            check(f"{cu['kind']} {cu['name']}" in f["address"],
                  f"{where}: address does not name its commune ({cu['kind']} {cu['name']})")
            du = units[cu["parent"]]
            check(f"{du['kind']} {du['name']}" in f["address"], f"{where}: address does not name its district")
        check(f["industry_group"] in INDUSTRY_GROUPS, f"{where}: bad industry_group {f['industry_group']}")
        check(isinstance(f["phone"], str) and PHONE_RE.match(f["phone"]) is not None, f"{where}: bad phone {f['phone']!r}")
        check(isinstance(f["lat"], float) and LAT_RANGE[0] <= f["lat"] <= LAT_RANGE[1], f"{where}: lat {f['lat']} out of range")
        check(isinstance(f["lon"], float) and LON_RANGE[0] <= f["lon"] <= LON_RANGE[1], f"{where}: lon {f['lon']} out of range")
        check(type(f["workforce"]) is int and 0 <= f["workforce"] <= 100000, f"{where}: bad workforce {f['workforce']!r}")
    groups = Counter(f.get("industry_group") for f in facilities)
    check(all(groups[g] > 0 for g in INDUSTRY_GROUPS), f"demo: every industry group should appear, got {dict(groups)}")

    prop_keys = {"id", "year", "district_code", "facility_id", "title", "support_kind", "requested_amount"}
    proposals = doc.get("proposals") or []
    check(len(proposals) == 37, f"demo: {len(proposals)} proposals, want 37")
    prop_ids, used = set(), Counter()
    for i, p in enumerate(proposals):
        where = f"demo.proposals[{i}]"
        if not check(set(p) == prop_keys, f"{where}: keys {sorted(p)} != {sorted(prop_keys)}"):
            continue
        check(UUID7_RE.match(p["id"]) is not None, f"{where}: id {p['id']!r} is not a lowercase UUIDv7")
        check(p["id"] not in prop_ids and p["id"] not in fac_by_id, f"{where}: id not unique")
        prop_ids.add(p["id"])
        check(p["year"] == 2020 and type(p["year"]) is int, f"{where}: year must be 2020")
        check(p["district_code"] in districts, f"{where}: unknown district {p['district_code']}")
        fac = fac_by_id.get(p["facility_id"])
        if check(fac is not None, f"{where}: facility_id {p['facility_id']} unknown"):
            check(fac["district_code"] == p["district_code"], f"{where}: facility is in another district")
        used[p["facility_id"]] += 1
        check(isinstance(p["title"], str) and len(p["title"].strip()) >= 20, f"{where}: title too short")
        check(p["support_kind"] in SUPPORT_KINDS, f"{where}: bad support_kind {p['support_kind']}")
        amt = p["requested_amount"]
        check(type(amt) is int and 100_000_000 <= amt <= 1_500_000_000 and amt % 1_000_000 == 0,
              f"{where}: requested_amount {amt!r} must be an integer 100.000.000-1.500.000.000, multiple of 1.000.000")
    check(set(used) == set(fac_by_id) and all(v == 1 for v in used.values()),
          "demo: every facility must have exactly one proposal")
    per_district = Counter(p.get("district_code") for p in proposals)
    for c, want in PROPOSALS_PER_DISTRICT.items():
        check(per_district.get(c, 0) == want, f"demo: district {c} has {per_district.get(c, 0)} proposals, want {want}")
    lo, hi = datetime(2019, 12, 1, tzinfo=timezone.utc), datetime(2020, 1, 1, tzinfo=timezone.utc)
    for x in list(fac_by_id) + list(prop_ids):
        if UUID7_RE.match(x):
            check(lo <= uuid7_time(x) < hi, f"demo: id {x} timestamp {uuid7_time(x)} outside December 2019")

    # The seed's photo captions must be representable.
    def has(district, group, words):
        return any(f["district_code"] == district and f["industry_group"] == group
                   and all(w in (f["name"] + " " + f["main_products"]).lower() for w in words)
                   for f in facilities)
    check(any(f.get("commune_code") == "07201" and "nồi hơi" in f.get("main_products", "").lower()
              and "Hòa Phát" in f.get("name", "") for f in facilities),
          "demo: missing the Hòa Phát industrial-boiler facility in phường Thọ Xương")
    check(has("219", "handicrafts", ["mộc"]), "demo: missing a woodcraft workshop in Lục Ngạn")
    check(any(f["district_code"] == "215" and f["industry_group"] == "mechanical" for f in facilities),
          "demo: missing a mechanical workshop in Yên Thế")


# ---------------------------------------------------------------- form

TOKEN_RE = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|('(?:[^'])*')|(==|!=|<=|>=|<|>)|(\(|\))|([A-Za-z_][A-Za-z0-9_]*))")


def expr_identifiers(expr, where):
    """Tokenise a `relevant` expression; return the field keys it names."""
    pos, idents = 0, []
    expr = expr.rstrip()
    while pos < len(expr):
        m = TOKEN_RE.match(expr, pos)
        if not m or m.end() == pos:
            fail(f"{where}: cannot parse relevant expression {expr!r} at {pos}")
            return idents
        word = m.group(5)
        if word and word not in {"and", "or", "not", "true", "false"}:
            idents.append(word)
        pos = m.end()
    return idents


def check_label(obj, key, where, required=True):
    lab = obj.get(key)
    if lab is None and not required:
        return
    check(isinstance(lab, dict) and set(lab) == {"vi", "en"}
          and all(isinstance(v, str) and v.strip() for v in lab.values()),
          f"{where}: {key} must be {{vi, en}} with non-empty text")


def check_fields(fields, where, keys, relevants, nested=False):
    allowed = {"key", "type", "label", "hint", "required", "min", "max", "min_length", "max_length", "pattern",
               "choices", "relevant", "fields"}
    for i, f in enumerate(fields):
        w = f"{where}.fields[{i}]"
        extra = set(f) - allowed
        check(not extra, f"{w}: unknown attributes {sorted(extra)}")
        key, typ = f.get("key"), f.get("type")
        if not check(isinstance(key, str) and SNAKE_RE.match(key), f"{w}: key {key!r} not snake_case"):
            continue
        w = f"{where}.{key}"
        check(key not in keys, f"{w}: duplicate key")
        keys[key] = f
        check(typ in FIELD_TYPES, f"{w}: unknown type {typ!r}")
        check_label(f, "label", w)
        check_label(f, "hint", w, required=False)
        check(isinstance(f.get("required", False), bool), f"{w}: required must be a boolean")
        for a in ("min", "max"):
            if a in f:
                check(typ in NUMERIC_TYPES and isinstance(f[a], (int, float)) and not isinstance(f[a], bool),
                      f"{w}: {a} only for numeric fields")
        if "min" in f and "max" in f:
            check(f["min"] <= f["max"], f"{w}: min > max")
        for a in ("min_length", "max_length"):
            if a in f:
                check(typ in {"text", "long_text"} and type(f[a]) is int and f[a] >= 0, f"{w}: bad {a}")
        if "pattern" in f:
            try:
                re.compile(f["pattern"])
            except re.error as e:
                fail(f"{w}: pattern does not compile: {e}")
        if typ in SELECT_TYPES:
            choices = f.get("choices") or []
            check(len(choices) >= 2, f"{w}: select needs at least two choices")
            values = [c.get("value") for c in choices]
            check(len(set(values)) == len(values), f"{w}: duplicate choice values")
            for j, c in enumerate(choices):
                check(set(c) == {"value", "label"} and isinstance(c.get("value"), str) and SNAKE_RE.match(c["value"]),
                      f"{w}.choices[{j}]: needs snake_case value and label")
                check_label(c, "label", f"{w}.choices[{j}]")
        else:
            check("choices" not in f, f"{w}: choices only for select fields")
        if typ == "repeat":
            check(not nested, f"{w}: nested repeat groups are not supported")
            sub = f.get("fields") or []
            check(len(sub) > 0, f"{w}: repeat needs fields")
            check_fields(sub, w, keys, relevants, nested=True)
        else:
            check("fields" not in f, f"{w}: fields only for repeat")
        if typ == "note":
            check(not f.get("required", False), f"{w}: a note cannot be required")
        if "relevant" in f:
            relevants.append((w, f["relevant"]))


def check_form(doc):
    walk_strings(doc, "form")
    check(doc.get("id") == "khuyen-cong" and doc.get("version") == 1, "form: id/version must be khuyen-cong/1")
    check_label(doc, "title", "form")
    keys, relevants, section_keys = {}, [], set()
    for i, s in enumerate(doc.get("sections") or []):
        w = f"form.sections[{i}]"
        check(isinstance(s.get("key"), str) and SNAKE_RE.match(s["key"]), f"{w}: bad section key")
        check(s.get("key") not in section_keys, f"{w}: duplicate section key")
        section_keys.add(s.get("key"))
        check_label(s, "title", w)
        check(len(s.get("fields") or []) > 0, f"{w}: section has no fields")
        check_fields(s.get("fields") or [], f"form.{s.get('key')}", keys, relevants)
    for w, expr in relevants:
        for ident in expr_identifiers(expr, w):
            check(ident in keys, f"{w}: relevant refers to unknown field {ident!r}")

    def want(key, typ, **attrs):
        f = keys.get(key)
        if not check(f is not None, f"form: required field {key!r} missing"):
            return None
        check(f["type"] == typ, f"form: {key} must be {typ}, is {f['type']}")
        for a, v in attrs.items():
            check(f.get(a) == v, f"form: {key}.{a} must be {v!r}, is {f.get(a)!r}")
        return f
    want("workforce", "integer", min=0, max=100000)
    want("main_products", "long_text", max_length=2000)
    ts = want("team_suggestion", "select_one")
    if ts:
        check([c["value"] for c in ts.get("choices", [])] == ["provincial", "national", "not_supported"],
              "form: team_suggestion choices must be provincial, national, not_supported")
    want("suggested_amount", "money", relevant="team_suggestion != 'not_supported'")
    want("evidence_photos", "photo")
    want("equipment", "repeat")
    yr = want("year_made", "integer", min=1950, max=2030)
    if yr:
        check(any(yr is sub for sub in keys["equipment"].get("fields", [])), "form: year_made must be inside equipment")
    ig = want("industry_group", "select_one")
    if ig:
        check({c["value"] for c in ig.get("choices", [])} == INDUSTRY_GROUPS, "form: industry_group choices != contract enum")
    sk = want("support_kind", "select_one")
    if sk:
        check({c["value"] for c in sk.get("choices", [])} == SUPPORT_KINDS, "form: support_kind choices != contract enum")
    ph = want("phone", "text")
    if ph and check("pattern" in ph, "form: phone needs a pattern"):
        rx = re.compile(ph["pattern"])
        check(rx.fullmatch("0912345678") and rx.fullmatch("0356789012") and not rx.fullmatch("12345"),
              "form: phone pattern does not accept Vietnamese mobile numbers")
    check(any(f["type"] == "note" for f in keys.values()), "form: needs a note field with instructions")


def main():
    units = load(UNITS_PATH)
    demo = load(DEMO_PATH)
    form = load(FORM_PATH)
    by_code = check_units(units) if units is not None else {}
    if demo is not None:
        check_demo(demo, by_code)
    if form is not None:
        check_form(form)
    if errors:
        for e in errors:
            print("FAIL", e)
        print(f"{len(errors)} problem(s) in data files")
        return 1
    print(f"data OK: {len(by_code)} units, {len(demo['facilities'])} facilities, "
          f"{len(demo['proposals'])} proposals, form {form['id']} v{form['version']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
