"""JUnit XML: export a plan's results, import an outside run as a finished plan."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape

from assay.db.models import ExecutionPlan, RunStatus
from assay.errors import InvalidInput


@dataclass
class JUnitCase:
    name: str
    classname: str
    status: RunStatus
    duration_s: float | None
    failure: str | None
    output: str | None


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters: drop them rather than fail."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)


def export_plan(plan: ExecutionPlan) -> bytes:
    counts = {s: 0 for s in RunStatus}
    for run in plan.runs:
        counts[RunStatus(run.status)] += 1
    total_time = sum(r.duration_s or 0 for r in plan.runs)
    suite = ET.Element(
        "testsuite",
        name=plan.name or plan.id,
        tests=str(len(plan.runs)),
        failures=str(counts[RunStatus.failed]),
        errors=str(counts[RunStatus.error]),
        skipped=str(counts[RunStatus.skipped] + counts[RunStatus.cancelled]),
        time=f"{total_time:.3f}",
        timestamp=(plan.started_at or plan.created_at).isoformat(),
    )
    for run in plan.runs:
        classname, name = junit_key(run.name) if "::" in run.name else ("assay", run.name)
        case = ET.SubElement(
            suite,
            "testcase",
            name=name,
            classname=classname,
            time=f"{run.duration_s or 0:.3f}",
        )
        status = RunStatus(run.status)
        text = _clean(run.failure or "")
        if status is RunStatus.failed:
            ET.SubElement(case, "failure", message=text.splitlines()[0][:200] if text else "")
            case[-1].text = text
        elif status is RunStatus.error:
            ET.SubElement(case, "error", message=text.splitlines()[0][:200] if text else "")
            case[-1].text = text
        elif status in (
            RunStatus.skipped,
            RunStatus.cancelled,
            RunStatus.queued,
            RunStatus.running,
        ):
            ET.SubElement(case, "skipped", message=status.value)
        if run.output:
            ET.SubElement(case, "system-out").text = _clean(run.output)
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


class JUnitError(InvalidInput, ValueError):
    pass


def parse(data: bytes) -> list[JUnitCase]:
    """Every <testcase> of a JUnit report (pytest, Maven Surefire, ... dialects)."""
    if b"<!DOCTYPE" in data[:2000] or b"<!ENTITY" in data[:20000]:
        raise JUnitError("JUnit XML must not declare a DTD or entities")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise JUnitError(f"not well-formed XML: {exc}") from exc
    if root.tag not in ("testsuites", "testsuite"):
        raise JUnitError(
            f"root element is <{escape(root.tag)}>, expected <testsuites> or <testsuite>"
        )
    cases = []
    for tc in root.iter("testcase"):
        name = tc.get("name") or "unnamed"
        classname = tc.get("classname") or ""
        status, failure = RunStatus.passed, None
        for tag, st in (
            ("failure", RunStatus.failed),
            ("error", RunStatus.error),
            ("skipped", RunStatus.skipped),
        ):
            el = tc.find(tag)
            if el is not None:
                status = st
                failure = (el.text or el.get("message") or "").strip() or None
                break
        try:
            duration = float(tc.get("time") or 0)
        except ValueError:
            duration = None
        out = tc.find("system-out")
        cases.append(
            JUnitCase(
                name, classname, status, duration, failure, out.text if out is not None else None
            )
        )
    if not cases:
        raise JUnitError("the report contains no <testcase>")
    return cases


def junit_key(nodeid: str) -> tuple[str, str]:
    """The (classname, name) pytest's JUnit report gives the test with this node id."""
    path, *parts = nodeid.split("::")
    module = path.removesuffix(".py").replace("/", ".")
    if not parts:
        return module, path
    return ".".join([module, *parts[:-1]]), parts[-1]
