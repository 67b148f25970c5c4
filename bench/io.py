"""Import/export benchmark: rows per second at 50,000 rows (enterprises and annual figures).

Usage: .venv/bin/python bench/io.py [--rows 50000] [--database-url URL]
Builds a scratch database from the migrations (SQLite in a temporary folder unless --database-url names
another, which is emptied first), writes a 50,000-row enterprises workbook and a figures workbook the way a
bureau's file looks (numbers with thousands separators as text, dates as Excel dates), and times, through the
same service as the upload page (crm.io.services.import_table, one transaction):
reading + checking + writing new rows (created), the same file again (unchanged), a changed file (updated),
new annual figures and changed ones,
and the exports of the registry and of the figures (crm.io.queries.write_export). Prints rows per second and
writes bench/results/io-<database>.json.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from openpyxl import Workbook  # noqa: E402

from crm import create_app  # noqa: E402
from crm.core.uscc import check_digit  # noqa: E402
from crm.extensions import db  # noqa: E402

DOMAINS = ["先进制造与自动化", "新材料", "电子信息", "生物与新医药", "新能源与节能"]


def uscc(n: int) -> str:
    body = f"91640104MA{n:07d}"
    return body + check_digit(body)


def workbook(headers: list[str], rows) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("名单")
    ws.append(["2025年度企业名单"])
    ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def enterprises_file(n: int, suffix: str = "") -> bytes:
    headers = ["序号", "企业名称", "统一社会信用代码", "行政区划代码", "成立日期", "行业代码", "技术领域", "是否规上", "地址"]
    return workbook(headers, ([i, f"宁夏基准{i:06d}{suffix}有限公司", uscc(i), "640104", date(2010 + i % 14, 1 + i % 12, 1),
                               "C3511", DOMAINS[i % 5], "是" if i % 3 == 0 else "否", f"兴庆区基准路{i}号"]
                              for i in range(1, n + 1)))


def figures_file(n: int, more: int = 0) -> bytes:
    headers = ["统一社会信用代码", "年度", "营业收入（万元）", "研发费用（万元）", "境内研发费用", "职工总数", "科技人员", "研发人员"]
    return workbook(headers, ([uscc(i), 2024, f"{3000 + more + i % 5000:,}.50", 150 + i % 50, 150 + i % 50,
                               80 + i % 40, 10 + i % 10, 5 + i % 5] for i in range(1, n + 1)))


def timed_import(app, kind: str, data: bytes, tmp: Path) -> dict:
    from crm.io.documents import read_table
    from crm.io.services import import_table

    path = tmp / f"{kind}.xlsx"
    path.write_bytes(data)
    with app.app_context():
        began, cpu = time.perf_counter(), time.process_time()
        table = read_table(path, kind)
        report = import_table(kind, table, actor="bench")
        table.close()
        db.session.commit()
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    if report.rejected:  # the file is valid: a rejection means the set-up is wrong (e.g. no compiled catalogue)
        raise SystemExit(f"{kind}: {report.rejected:,} rows rejected, first {report.rejects[:3]}: not timing that")
    return {"rows": report.total, "created": report.created, "updated": report.updated,
            "unchanged": report.unchanged, "rejected": report.rejected, "seconds": round(seconds, 2),
            "rows_per_second": round(report.total / seconds), "cpu_seconds": round(cpu, 2)}


def timed_export(app, kind: str, tmp: Path) -> dict:
    from crm.io.queries import SYSTEM, write_export

    with app.app_context():
        began = time.perf_counter()
        n = write_export(kind, SYSTEM, {}, tmp / f"export-{kind}.xlsx")
        seconds = time.perf_counter() - began
    return {"rows": n, "seconds": round(seconds, 2), "rows_per_second": round(n / seconds),
            "bytes": (tmp / f"export-{kind}.xlsx").stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="miaopu-io-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    app = create_app("development", SQLALCHEMY_DATABASE_URI=url, IMPORT_DIR=str(tmp / "imports"),
                     IMPORT_MAX_ROWS=max(100_000, args.rows))
    from flask_migrate import upgrade

    from crm.enterprises.models import Region

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        db.session.add_all([Region(id=1, code="640000", name="宁夏回族自治区", level="province", path="/1/"),
                            Region(id=2, code="640100", name="银川市", level="city", parent_id=1, path="/1/2/"),
                            Region(id=3, code="640104", name="兴庆区", level="county", parent_id=2, path="/1/2/3/")])
        db.session.commit()
    began = time.perf_counter()
    files = {"enterprises": enterprises_file(args.rows), "figures": figures_file(args.rows),
             "changed": enterprises_file(args.rows, "新"), "figures_changed": figures_file(args.rows, 100)}
    results = {"rows": args.rows, "database": url.split(":")[0], "files_built_seconds": round(
        time.perf_counter() - began, 1), "file_bytes": {k: len(v) for k, v in files.items()}, "scenarios": {}}
    print(f"import/export benchmark: {args.rows:,} rows on {results['database']}")
    scenarios = [("import enterprises (all new)", lambda: timed_import(app, "enterprises", files["enterprises"], tmp)),
                 ("import enterprises again (unchanged)",
                  lambda: timed_import(app, "enterprises", files["enterprises"], tmp)),
                 ("import enterprises (every name changed)",
                  lambda: timed_import(app, "enterprises", files["changed"], tmp)),
                 ("import annual figures (all new)", lambda: timed_import(app, "figures", files["figures"], tmp)),
                 ("import annual figures (every revenue changed)",
                  lambda: timed_import(app, "figures", files["figures_changed"], tmp)),
                 ("export registry", lambda: timed_export(app, "enterprises", tmp)),
                 ("export annual figures", lambda: timed_export(app, "figures", tmp))]
    for name, run in scenarios:
        r = run()
        results["scenarios"][name] = r
        cpu = f"  ({r['cpu_seconds']:.1f} s CPU of this process)" if "cpu_seconds" in r else ""
        print(f"  {name:<46} {r['rows']:>7,} rows  {r['seconds']:>7.1f} s  {r['rows_per_second']:>7,} rows/s{cpu}",
              flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"io-{results['database']}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
