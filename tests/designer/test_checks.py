"""The bundle check gives problems, never an exception, for the shipped bundle and a broken one."""
from __future__ import annotations

import pytest
from flask import Flask

from app.designer.checks import bundle_with, check_bundle
from app.engine.definitions import read_bundle


def _shipped(app: Flask) -> dict[str, dict[str, str]]:
    s = app.config["SETTINGS"]
    return read_bundle(s.PROCESS_DIR, s.RULES_DIR, s.FORMS_DIR)


def test_the_shipped_bundle_has_no_problem(app: Flask) -> None:
    result = check_bundle(_shipped(app), app.config["SETTINGS"].CASE_PROCESS_ID)
    assert result.ok and result.problems == []


def test_a_broken_file_is_a_problem_of_that_file(app: Flask) -> None:
    bundle = bundle_with(_shipped(app), {"rules/starting_tier.dmn": "<definitions"})
    result = check_bundle(bundle, app.config["SETTINGS"].CASE_PROCESS_ID)
    assert not result.ok
    assert result.problems[0].file == "rules/starting_tier.dmn" and "XML" in result.problems[0].message
    # in the same pass: the process whose rule task calls the decision the broken file held
    assert [(p.file, p.element) for p in result.problems[1:]] == [("processes/seven_step_loop.bpmn", "starting_tier")]


@pytest.mark.parametrize("name", ["x.bpmn", "processes/x.dmn", "forms/a/b.json", "other/x.bpmn", "processes/"])
def test_a_file_outside_the_bundle_is_refused(app: Flask, name: str) -> None:
    with pytest.raises(ValueError, match="^" + name.replace(".", r"\.") + "$"):
        bundle_with(_shipped(app), {name: ""})
